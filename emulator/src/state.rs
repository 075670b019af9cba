//! Shared emulator state: tables, tokens, cursors, jobs, faults and counters behind one mutex.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use rand::Rng;
use serde_json::{Map, Value, json};

use crate::bulk::{IngestJob, QueryJob};
use crate::schema::Schema;
use crate::store::Table;
use crate::{Config, EndpointKind, Faults, Stats, ids};

/// The org's fixed Ids.
pub const ORG_ID: &str = "00D5e000000EmuLEAS";
pub const USER_ID: &str = "0055e000000EmuLAAS";
/// The owner lead assignment rules give a lead when a client forgets `Sforce-Auto-Assign: FALSE`.
pub const ASSIGNMENT_QUEUE_ID: &str = "00G5e000000AsgnEAA";

const DEFAULT_LEADS: &str =
    "Email,FirstName,LastName,Company,Status,IsConverted,WalkMe_Logins_Last_30_Days__c
ann.lee@example.com,Ann,Lee,Acme,Open - Not Contacted,false,
bob.stone@example.com,Bob,Stone,Globex,Working - Contacted,false,4
carla.diaz@example.com,Carla,Diaz,Initech,Closed - Converted,true,12
dan.o'neil@example.com,Dan,O'Neil,Umbrella,Open - Not Contacted,false,
";
const DEFAULT_CONTACTS: &str = "Email,FirstName,LastName,WalkMe_NPS_Score__c
erin.kim@example.com,Erin,Kim,9
frank.moss@example.com,Frank,Moss,
ann.lee@example.com,Ann,Lee,
";
const DEFAULT_ACCOUNTS: &str = "Name,Website,WalkMe_Account_Id__c
Acme,https://acme.example.com,acct-001
Globex,https://globex.example.com,acct-002
";
const DEFAULT_PROGRESS: &str =
    "Name,WalkMe_User_Email__c,WalkMe_Course_Name__c,WalkMe_Progress__c,WalkMe_Completed__c
CP-0001,erin.kim@example.com,Onboarding 101,50,false
";

pub struct AccessToken {
    pub username: String,
    pub expires_at: Option<Instant>,
    pub refresh: Option<String>,
}

pub struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: Option<String>,
    pub scope: String,
    pub created: Instant,
}

pub struct DeviceCode {
    pub user_code: String,
    pub client_id: String,
    pub scope: String,
    pub polls: u32,
    pub approved: bool,
    pub denied: bool,
}

pub struct Cursor {
    pub object: String,
    pub fields: Vec<usize>,
    pub rows: Vec<usize>,
    pub page: usize,
    pub version: String,
}

/// Everything that changes, behind [`Shared::lock`].
pub struct Inner {
    pub cfg: Config,
    pub schema: Schema,
    pub tables: HashMap<String, Table>,
    pub access: HashMap<String, AccessToken>,
    pub refresh: HashMap<String, String>,
    pub codes: HashMap<String, AuthCode>,
    pub devices: HashMap<String, DeviceCode>,
    pub cursors: HashMap<String, Cursor>,
    pub ingest: HashMap<String, IngestJob>,
    pub query_jobs: HashMap<String, QueryJob>,
    pub faults: Faults,
    pub stats: Stats,
    pub seq: u64,
    pub schema_loaded_ms: i64,
}

/// State shared by the server tasks and the [`crate::Emulator`] handle.
pub struct Shared {
    pub url: String,
    inner: Mutex<Inner>,
}

#[must_use]
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A random token body of `n` characters from Salesforce's token alphabet.
#[must_use]
pub fn random_token(n: usize) -> String {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(ALPHA[rng.random_range(0..ALPHA.len())]))
        .collect()
}

impl Inner {
    fn build(cfg: Config) -> anyhow::Result<Self> {
        let schema = match &cfg.schema_json {
            Some(text) => Schema::parse(text)?,
            None => Schema::default_schema(),
        };
        let tables = schema
            .objects
            .iter()
            .map(|o| (o.name.to_ascii_lowercase(), Table::new(o.clone())))
            .collect();
        let faults = cfg.faults.clone();
        let stats = Stats {
            api_usage: cfg.api_usage_start,
            api_max: cfg.api_max,
            ..Stats::default()
        };
        let mut inner = Self {
            cfg,
            schema,
            tables,
            access: HashMap::new(),
            refresh: HashMap::new(),
            codes: HashMap::new(),
            devices: HashMap::new(),
            cursors: HashMap::new(),
            ingest: HashMap::new(),
            query_jobs: HashMap::new(),
            faults,
            stats,
            seq: 1,
            schema_loaded_ms: now_ms(),
        };
        if inner.cfg.default_seed {
            for (obj, text) in [
                ("Lead", DEFAULT_LEADS),
                ("Contact", DEFAULT_CONTACTS),
                ("Account", DEFAULT_ACCOUNTS),
                ("WalkMe_Course_Progress__c", DEFAULT_PROGRESS),
            ] {
                // A custom schema may lack these objects.
                if inner.table_mut(obj).is_some() {
                    inner.seed_csv(obj, text)?;
                }
            }
        }
        for (obj, path) in inner.cfg.seeds.clone() {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("seed {}: {e}", path.display()))?;
            inner.seed_csv(&obj, &text)?;
        }
        Ok(inner)
    }

    #[must_use]
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(&name.to_ascii_lowercase())
    }

    pub fn table_mut(&mut self, name: &str) -> Option<&mut Table> {
        self.tables.get_mut(&name.to_ascii_lowercase())
    }

    /// The table an Id belongs to, by key prefix.
    #[must_use]
    pub fn table_name_for_id(&self, id: &str) -> Option<String> {
        let prefix = id.get(..3)?;
        self.tables
            .values()
            .find(|t| t.def.key_prefix == prefix)
            .map(|t| t.def.name.clone())
    }

    pub fn seed_csv(&mut self, obj: &str, text: &str) -> anyhow::Result<usize> {
        let owner = USER_ID.to_owned();
        let t = self
            .table_mut(obj)
            .ok_or_else(|| anyhow::anyhow!("no object {obj}"))?;
        t.seed_csv(text, now_ms(), &owner)
    }

    pub fn next_id(&mut self, prefix: &str) -> String {
        self.seq += 1;
        ids::make_id(prefix, self.seq + 1_000_000)
    }

    pub fn count_call(&mut self, kind: EndpointKind) {
        *self.stats.calls.entry(kind).or_insert(0) += 1;
    }

    /// Mints an access token (and optionally a refresh token) for `username`.
    pub fn mint(
        &mut self,
        username: &str,
        with_refresh: Option<String>,
    ) -> (String, Option<String>) {
        let access = format!("{}!{}", &ORG_ID[..15], random_token(96));
        let expires_at = self
            .cfg
            .token_ttl_secs
            .map(|s| Instant::now() + std::time::Duration::from_secs(s));
        let refresh = with_refresh.map(|r| {
            if r.is_empty() {
                let r = format!("5Aep861{}", random_token(80));
                self.refresh.insert(r.clone(), username.to_owned());
                r
            } else {
                r
            }
        });
        self.access.insert(
            access.clone(),
            AccessToken {
                username: username.to_owned(),
                expires_at,
                refresh: refresh.clone(),
            },
        );
        self.stats.tokens_issued += 1;
        (access, refresh)
    }

    /// The token response of research §1.3 (no `expires_in`).
    pub fn token_response(
        &mut self,
        url: &str,
        username: &str,
        scope: &str,
        with_refresh: Option<String>,
    ) -> Value {
        let (access, refresh) = self.mint(username, with_refresh);
        let issued_at = now_ms().to_string();
        let id = format!("{url}/id/{ORG_ID}/{USER_ID}");
        let signature = signature(
            &id,
            &issued_at,
            self.cfg.client_secret.as_deref().unwrap_or("emulator"),
        );
        let mut m = Map::new();
        m.insert("access_token".into(), json!(access));
        if let Some(r) = refresh {
            m.insert("refresh_token".into(), json!(r));
        }
        m.insert("signature".into(), json!(signature));
        m.insert("scope".into(), json!(scope));
        m.insert("instance_url".into(), json!(url));
        m.insert("id".into(), json!(id));
        m.insert("token_type".into(), json!("Bearer"));
        m.insert("issued_at".into(), json!(issued_at));
        Value::Object(m)
    }

    /// The user of a valid access token.
    #[must_use]
    pub fn session(&self, token: &str) -> Option<String> {
        let t = self.access.get(token)?;
        if t.expires_at.is_some_and(|e| Instant::now() >= e) {
            return None;
        }
        Some(t.username.clone())
    }
}

/// Base64 HMAC-SHA256 over `id` + `issued_at` keyed with the client secret (research §1.3).
fn signature(id: &str, issued_at: &str, key: &str) -> String {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key.as_bytes()));
    } else {
        k[..key.len()].copy_from_slice(key.as_bytes());
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(id.as_bytes())
        .chain_update(issued_at.as_bytes())
        .finalize();
    let outer = Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize();
    base64::engine::general_purpose::STANDARD.encode(outer)
}

impl Shared {
    pub fn new(cfg: Config, url: String) -> anyhow::Result<Self> {
        Ok(Self {
            url,
            inner: Mutex::new(Inner::build(cfg)?),
        })
    }

    /// Locks the state; a poisoned lock (a panicked handler) is taken over as is.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn seed_csv_text(&self, obj: &str, text: &str) -> anyhow::Result<usize> {
        self.lock().seed_csv(obj, text)
    }

    pub fn seed_json(&self, obj: &str, records: &[Value]) -> anyhow::Result<usize> {
        let mut g = self.lock();
        let t = g
            .table_mut(obj)
            .ok_or_else(|| anyhow::anyhow!("no object {obj}"))?;
        t.seed_json(records, now_ms(), USER_ID)
    }

    #[must_use]
    pub fn records(&self, obj: &str) -> Vec<Map<String, Value>> {
        let g = self.lock();
        let Some(t) = g.table(obj) else {
            return Vec::new();
        };
        (0..t.rows.len())
            .filter(|&r| !t.rows[r].deleted)
            .map(|r| t.row_json(r))
            .collect()
    }

    #[must_use]
    pub fn stats(&self) -> Stats {
        self.lock().stats.clone()
    }

    pub fn reset_stats(&self) {
        let mut g = self.lock();
        let max = g.cfg.api_max;
        g.stats = Stats {
            api_max: max,
            ..Stats::default()
        };
    }

    pub fn reset(&self) -> anyhow::Result<()> {
        let mut g = self.lock();
        let cfg = g.cfg.clone();
        *g = Inner::build(cfg)?;
        Ok(())
    }

    #[must_use]
    pub fn issue_refresh_token(&self, username: &str) -> String {
        let mut g = self.lock();
        let r = format!("5Aep861{}", random_token(80));
        g.refresh.insert(r.clone(), username.to_owned());
        r
    }

    #[must_use]
    pub fn issue_access_token(&self, username: &str) -> String {
        self.lock().mint(username, None).0
    }

    #[must_use]
    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    pub fn set_faults(&self, f: Faults) {
        self.lock().faults = f;
    }

    pub fn expire_tokens(&self) {
        let mut g = self.lock();
        let past = Instant::now();
        for t in g.access.values_mut() {
            t.expires_at = Some(past);
        }
    }

    pub fn approve_devices(&self, approve: bool) {
        let mut g = self.lock();
        for d in g.devices.values_mut() {
            if approve {
                d.approved = true;
            } else {
                d.denied = true;
            }
        }
    }

    pub fn set_api_usage(&self, used: u64) {
        self.lock().stats.api_usage = used;
    }
}

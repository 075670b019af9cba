//! The control API under `/__emulator/`, kept apart from the Salesforce paths: stats, record
//! dumps, reset, seeding, faults, tokens, device approval, settings. Not counted, not faulted.

use hyper::Method;
use serde_json::{Value, json};

use crate::server::{Req, Resp};
use crate::state::Shared;
use crate::{Config, Faults};

fn bad(msg: &str) -> Resp {
    Resp::json(400, &json!({"error": msg}))
}

fn body_json(req: &Req) -> Result<Value, Resp> {
    if req.body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&req.body).map_err(|e| bad(&format!("invalid JSON: {e}")))
}

pub fn handle(sh: &Shared, req: &Req) -> Resp {
    let segs: Vec<&str> = req.segs.iter().skip(1).map(String::as_str).collect();
    let m = &req.method;
    match (m, segs.as_slice()) {
        (&Method::GET, ["stats"]) => Resp::json(200, &json!(sh.stats())),
        (&Method::POST, ["stats", "reset"]) => {
            sh.reset_stats();
            Resp::json(200, &json!(sh.stats()))
        }
        (&Method::GET, ["records", obj]) => {
            if sh.lock().table(obj).is_none() {
                return Resp::json(404, &json!({"error": format!("no object {obj}")}));
            }
            Resp::json(200, &json!(sh.records(obj)))
        }
        (&Method::POST, ["reset"]) => match sh.reset() {
            Ok(()) => Resp::json(200, &json!({"reset": true})),
            Err(e) => bad(&e.to_string()),
        },
        (&Method::POST, ["seed", obj]) => {
            let is_json = req
                .header("content-type")
                .is_some_and(|c| c.contains("json"));
            let res = if is_json {
                match serde_json::from_slice::<Vec<Value>>(&req.body) {
                    Ok(recs) => sh.seed_json(obj, &recs),
                    Err(e) => Err(anyhow::anyhow!("invalid JSON array: {e}")),
                }
            } else {
                sh.seed_csv_text(obj, &String::from_utf8_lossy(&req.body))
            };
            match res {
                Ok(n) => Resp::json(200, &json!({"seeded": n})),
                Err(e) => bad(&e.to_string()),
            }
        }
        (&Method::GET, ["faults"]) => Resp::json(200, &json!(sh.faults())),
        (&Method::PUT | &Method::POST, ["faults"]) => {
            match serde_json::from_slice::<Faults>(&req.body) {
                Ok(f) => {
                    sh.set_faults(f);
                    Resp::json(200, &json!(sh.faults()))
                }
                Err(e) => bad(&format!("invalid faults: {e}")),
            }
        }
        (&Method::POST, ["token"]) => {
            let body = match body_json(req) {
                Ok(b) => b,
                Err(r) => return r,
            };
            let user = body
                .get("username")
                .and_then(Value::as_str)
                .map_or_else(|| sh.lock().cfg.username.clone(), str::to_owned);
            let refresh = sh.issue_refresh_token(&user);
            let access = sh.issue_access_token(&user);
            Resp::json(
                200,
                &json!({"refresh_token": refresh, "access_token": access, "instance_url": sh.url}),
            )
        }
        (&Method::POST, ["device", "approve"]) => {
            sh.approve_devices(true);
            Resp::json(200, &json!({"approved": true}))
        }
        (&Method::POST, ["device", "deny"]) => {
            sh.approve_devices(false);
            Resp::json(200, &json!({"denied": true}))
        }
        (&Method::POST, ["expire-tokens"]) => {
            sh.expire_tokens();
            Resp::json(200, &json!({"expired": true}))
        }
        (&Method::POST, ["api-usage"]) => {
            let body = match body_json(req) {
                Ok(b) => b,
                Err(r) => return r,
            };
            let Some(used) = body.get("used").and_then(Value::as_u64) else {
                return bad("expected {\"used\": N}");
            };
            sh.set_api_usage(used);
            Resp::json(200, &json!(sh.stats()))
        }
        (&Method::GET, ["config"]) => Resp::json(200, &json!(sh.lock().cfg)),
        (&Method::PATCH | &Method::POST, ["config"]) => {
            let patch = match body_json(req) {
                Ok(Value::Object(p)) => p,
                Ok(_) => return bad("expected a JSON object"),
                Err(r) => return r,
            };
            let mut g = sh.lock();
            let mut current = json!(g.cfg);
            for (k, v) in patch {
                current[k] = v;
            }
            match serde_json::from_value::<Config>(current) {
                Ok(mut cfg) => {
                    if cfg.client_secret.is_none() {
                        cfg.client_secret.clone_from(&g.cfg.client_secret);
                    }
                    g.stats.api_max = cfg.api_max;
                    g.cfg = cfg;
                    Resp::json(200, &json!(g.cfg))
                }
                Err(e) => bad(&format!("invalid config: {e}")),
            }
        }
        _ => Resp::json(404, &json!({"error": "unknown control route"})),
    }
}

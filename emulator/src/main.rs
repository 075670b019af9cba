//! `sf-emulator`: serve the Salesforce emulator, or `browse URL` (follow redirects like a browser
//! that completes a login at once).

use std::io::Write as _;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use sf_emulator::{BulkOutcome, Config, Emulator, Faults};

#[derive(Parser, Debug)]
#[command(
    name = "sf-emulator",
    version,
    about = "A local Salesforce emulator",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// GET a URL and follow up to 10 redirects; prints nothing on success.
    Browse { url: String },
}

#[derive(clap::Args, Debug)]
#[allow(clippy::struct_excessive_bools)] // independent CLI switches
struct ServeArgs {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Seed records: OBJECT=path.csv (repeatable).
    #[arg(long = "seed", value_name = "OBJECT=PATH")]
    seeds: Vec<String>,
    /// Schema JSON replacing the default schema.
    #[arg(long)]
    schema: Option<PathBuf>,
    /// Do not load the built-in sample records.
    #[arg(long)]
    no_default_seed: bool,
    /// Latency added to every Salesforce request.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Access-token lifetime in seconds (0 = never expires).
    #[arg(long, default_value_t = 7200)]
    token_ttl_secs: u64,
    /// Rotate refresh tokens on every refresh.
    #[arg(long)]
    rotate_refresh_tokens: bool,
    /// Daily API request limit.
    #[arg(long, default_value_t = 100_000)]
    api_max: u64,
    /// Only accept this OAuth client id.
    #[arg(long)]
    client_id: Option<String>,
    /// Client secret for the client-credentials flow.
    #[arg(long, env = "SF_EMULATOR_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// PEM public key verifying JWT-bearer assertions.
    #[arg(long)]
    jwt_public_key: Option<PathBuf>,
    /// The org user's username.
    #[arg(long, default_value = "admin@example.com")]
    username: String,
    /// Device flow: approve after N pending polls (0 = only through the control API).
    #[arg(long, default_value_t = 2)]
    device_approve_after_polls: u32,
    /// Device flow: `interval` in seconds sent to clients.
    #[arg(long, default_value_t = 5)]
    device_interval_secs: u64,
    /// The app does not allow the device flow.
    #[arg(long)]
    no_device_flow: bool,
    /// Device flow: the user denies.
    #[arg(long)]
    device_deny: bool,
    /// Bulk job processing delay in milliseconds.
    #[arg(long, default_value_t = 200)]
    bulk_delay_ms: u64,
    /// How Bulk jobs end: normal, failed, aborted, never-complete.
    #[arg(long, default_value = "normal")]
    bulk_outcome: String,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Browse { url }) => browse(&url),
        None => serve(cli.serve),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sf-emulator: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn serve(a: ServeArgs) -> anyhow::Result<()> {
    let mut seeds = Vec::new();
    for s in &a.seeds {
        let (obj, path) = s
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--seed expects OBJECT=PATH, got {s:?}"))?;
        seeds.push((obj.to_owned(), PathBuf::from(path)));
    }
    let bulk_outcome = match a.bulk_outcome.as_str() {
        "normal" => BulkOutcome::Normal,
        "failed" => BulkOutcome::Failed,
        "aborted" => BulkOutcome::Aborted,
        "never-complete" => BulkOutcome::NeverComplete,
        other => anyhow::bail!("--bulk-outcome: unknown value {other:?}"),
    };
    let cfg = Config {
        port: a.port,
        schema_json: a.schema.map(std::fs::read_to_string).transpose()?,
        default_seed: !a.no_default_seed,
        seeds,
        token_ttl_secs: (a.token_ttl_secs > 0).then_some(a.token_ttl_secs),
        rotate_refresh_tokens: a.rotate_refresh_tokens,
        api_max: a.api_max,
        username: a.username,
        client_id: a.client_id,
        client_secret: a.client_secret,
        jwt_public_key_pem: a.jwt_public_key.map(std::fs::read_to_string).transpose()?,
        device_flow_enabled: !a.no_device_flow,
        device_approve_after_polls: (a.device_approve_after_polls > 0)
            .then_some(a.device_approve_after_polls),
        device_deny: a.device_deny,
        device_interval_secs: a.device_interval_secs,
        bulk_delay_ms: a.bulk_delay_ms,
        faults: Faults {
            latency_ms: a.latency_ms,
            bulk_outcome,
            ..Faults::default()
        },
        ..Config::default()
    };
    let emu = Emulator::start(cfg)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening {}", emu.url())?;
    out.flush()?;
    drop(out);
    // Serve until killed.
    loop {
        std::thread::park();
    }
}

fn browse(start: &str) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut current = url::Url::parse(start)?;
        for _ in 0..=10 {
            let (status, location) = get_once(&current).await?;
            if (300..400).contains(&status) {
                let loc = location
                    .ok_or_else(|| anyhow::anyhow!("{status} without Location from {current}"))?;
                current = current.join(&loc)?;
                continue;
            }
            if (200..300).contains(&status) {
                return Ok(());
            }
            anyhow::bail!(
                "GET {} answered {status}",
                current.origin().ascii_serialization()
            );
        }
        anyhow::bail!("more than 10 redirects")
    })
}

async fn get_once(u: &url::Url) -> anyhow::Result<(u16, Option<String>)> {
    use http_body_util::{BodyExt, Empty};
    anyhow::ensure!(
        u.scheme() == "http",
        "only http:// URLs are supported, got {}",
        u.scheme()
    );
    let host = u
        .host_str()
        .ok_or_else(|| anyhow::anyhow!("URL without host"))?;
    let port = u.port_or_known_default().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host, port)).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let path = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_owned(),
    };
    let authority = match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    let req = hyper::Request::get(path)
        .header("host", authority)
        .header("user-agent", "sf-emulator-browse")
        .body(Empty::<bytes::Bytes>::new())?;
    let resp = sender.send_request(req).await?;
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let _ = resp.into_body().collect().await;
    Ok((status, location))
}

//! `momentum-server`: the reference backend. Run `momentum-server --help`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use momentum_server::{Config, Server, DEMO_ADMIN_KEY};

const HELP: &str =
    "momentum-server: Momentum's reference backend (host fetch API v1 + test payment gateway)

USAGE: momentum-server [OPTIONS]

OPTIONS:
  --addr <ip:port>            listen address (default 127.0.0.1:8080; port 0 = any free port)
  --db <path>                 SQLite file, created if missing (default momentum.sqlite)
  --static-dir <dir>          serve this directory at / (widget bundle, demo page), with CORS
  --admin-key <key>           creator key for refunds and offer edits (env MOMENTUM_ADMIN_KEY;
                              default: the demo key sk_test_momentum_admin)
  --processing-delay-ms <ms>  how long a 'processing' test payment takes to settle (default 1500)
  --public-url <url>          base URL for 3-D Secure challenge links (default http://<addr>)
  --offers <file.json>        upsert these offers (JSON array of offer configs) at start,
                              instead of seeding the demo offers
  -h, --help                  this text

On start it prints 'momentum-server listening on http://<addr>' on stdout.";

fn parse(args: Vec<String>) -> Result<Option<Config>, String> {
    let mut c = Config::default();
    if let Ok(k) = std::env::var("MOMENTUM_ADMIN_KEY") {
        if !k.is_empty() {
            c.admin_key = k;
        }
    }
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (flag.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "--addr" => c.addr = value()?.parse().map_err(|e| format!("--addr: {e}"))?,
            "--db" => c.db = PathBuf::from(value()?),
            "--static-dir" => c.static_dir = Some(PathBuf::from(value()?)),
            "--admin-key" => {
                let k = value()?;
                if k.len() < 16 {
                    return Err("--admin-key must be at least 16 characters".into());
                }
                c.admin_key = k;
            }
            "--processing-delay-ms" => {
                c.processing_delay = Duration::from_millis(
                    value()?
                        .parse()
                        .map_err(|e| format!("--processing-delay-ms: {e}"))?,
                )
            }
            "--public-url" => c.public_url = Some(value()?),
            "--offers" => c.offers_file = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown option {other} (see --help)")),
        }
    }
    Ok(Some(c))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = match parse(std::env::args().skip(1).collect()) {
        Ok(Some(c)) => c,
        Ok(None) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("momentum-server: {e}");
            return ExitCode::from(2);
        }
    };
    if config.admin_key == DEMO_ADMIN_KEY {
        eprintln!("momentum-server: using the demo admin key (set --admin-key or MOMENTUM_ADMIN_KEY outside demos)");
    }
    let server = match Server::bind(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("momentum-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    match server.local_addr() {
        Ok(a) => println!("momentum-server listening on http://{a}"),
        Err(e) => {
            eprintln!("momentum-server: {e}");
            return ExitCode::FAILURE;
        }
    }
    match server.run(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("momentum-server: {e}");
            ExitCode::FAILURE
        }
    }
}

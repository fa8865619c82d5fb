//! Open-loop load generator (not a timed test): requests arrive at a fixed rate whatever the
//! server's latency, as independent shoppers do, and each latency is measured from the moment the
//! request was due (so a stalled server shows up in the tail instead of slowing the arrivals, the
//! "coordinated omission" of a closed loop). For each store (SQLite; Postgres when
//! `MOMENTUM_TEST_DB=postgres://…` names a server to create a database on) it starts the real
//! server binary with its own database, and runs `POST /v1/orders` and `POST /v1/quotes`, printing
//! the achieved rate and p50 / p99 / p99.9. Every order charges the test gateway once, so the run
//! also checks one stored charge per created order.
//!
//!     cargo bench -p momentum-server --bench load --profile host
//!
//! Tunables (environment): MOMENTUM_LOAD_SECS (default 4), MOMENTUM_LOAD_ORDER_RATE (default 500
//! requests/s), MOMENTUM_LOAD_QUOTE_RATE (default 1000 requests/s).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::Mutex;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(db_args: &[String]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_momentum-server"))
        // Thousands of tokens and orders from one address: no request budgets.
        .args(["--addr", "127.0.0.1:0", "--rate-limit", "off"])
        .args(db_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start momentum-server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("listen line");
    let base = line
        .trim()
        .trim_start_matches("momentum-server listening on ")
        .to_string();
    Server { child, base }
}

/// A store to measure: its name, the server's flags, and how to count stored charges.
struct Store {
    name: &'static str,
    args: Vec<String>,
    charges: Box<dyn Fn() -> i64>,
}

fn sqlite_store(dir: &Path) -> Store {
    let db = dir.join("load.sqlite");
    let path = db.clone();
    Store {
        name: "SQLite",
        args: vec!["--db".into(), db.display().to_string()],
        charges: Box::new(move || {
            rusqlite::Connection::open(&path)
                .and_then(|c| c.query_row("SELECT COUNT(*) FROM charges", [], |r| r.get(0)))
                .expect("count charges")
        }),
    }
}

fn postgres_store(dir: &Path, admin_url: &str) -> Store {
    let name = format!("load_{}", std::process::id());
    let (admin, sql) = (
        admin_url.to_string(),
        [
            format!("DROP DATABASE IF EXISTS {name}"),
            format!("CREATE DATABASE {name}"),
        ],
    );
    // The sync client may not run on the generator's runtime thread.
    std::thread::spawn(move || {
        postgres::Client::connect(&admin, postgres::NoTls)
            .and_then(|mut c| sql.iter().try_for_each(|q| c.batch_execute(q)))
            .expect("create the load database")
    })
    .join()
    .expect("create thread");
    let (scheme, rest) = admin_url.split_once("://").expect("a URL");
    let authority = rest.split('/').next().unwrap_or(rest);
    let url = format!("{scheme}://{authority}/{name}");
    let count_url = url.clone();
    Store {
        name: "Postgres",
        args: vec![
            "--db".into(),
            url,
            "--test-gateway-db".into(),
            dir.join("gateway.sqlite").display().to_string(),
        ],
        charges: Box::new(move || {
            let url = count_url.clone();
            std::thread::spawn(move || {
                postgres::Client::connect(&url, postgres::NoTls)
                    .and_then(|mut c| c.query_one("SELECT COUNT(*) FROM charges", &[]))
                    .map(|r| r.get::<_, i64>(0))
                    .expect("count charges")
            })
            .join()
            .expect("count thread")
        }),
    }
}

/// Single-use tokens, made before the run (not timed), as a provider's fields would.
async fn tokens(client: &reqwest::Client, base: &str, n: usize) -> Vec<String> {
    let per_task = n.div_ceil(16);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (client, base) = (client.clone(), base.to_string());
            tokio::spawn(async move {
                let mut out = Vec::with_capacity(per_task);
                for _ in 0..per_task {
                    let r = client
                        .post(format!("{base}/v1/test-gateway/tokens"))
                        .json(&json!({"number": "4242424242424242"}))
                        .send()
                        .await
                        .expect("tokenize");
                    let v: Value = r.json().await.expect("token json");
                    out.push(v["token"].as_str().expect("token").to_string());
                }
                out
            })
        })
        .collect();
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await.expect("token task"));
    }
    all
}

struct Run {
    latencies: Vec<Duration>,
    ok: usize,
    errors: usize,
    elapsed: Duration,
}

/// Sends `make(i)` at `rate` per second for `secs`, each on its own task at its due time.
async fn open_loop(
    rate: u64,
    secs: u64,
    make: impl Fn(usize) -> reqwest::RequestBuilder,
    expect: u16,
) -> Run {
    let total = (rate * secs) as usize;
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    let results = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let due = start + period * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let request = make(i);
        let results = results.clone();
        tasks.push(tokio::spawn(async move {
            let outcome = match request.send().await {
                Ok(r) if r.status().as_u16() == expect => r.bytes().await.is_ok(),
                _ => false,
            };
            results.lock().await.push((due.elapsed(), outcome));
        }));
    }
    for t in tasks {
        t.await.expect("request task");
    }
    let elapsed = start.elapsed();
    let results = std::mem::take(&mut *results.lock().await);
    let mut latencies: Vec<Duration> = results
        .iter()
        .filter(|(_, ok)| *ok)
        .map(|(d, _)| *d)
        .collect();
    latencies.sort();
    let ok = latencies.len();
    Run {
        latencies,
        ok,
        errors: results.len() - ok,
        elapsed,
    }
}

/// The 1-minute load average: on a shared machine, what else wanted the CPUs meanwhile.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn report(store: &str, what: &str, rate: u64, run: &Run) {
    let l = &run.latencies;
    println!(
        "{store:>8} {what:<12} offered {rate:>5}/s  achieved {:>6.0}/s  p50 {:>9}  p99 {:>9}  p99.9 {:>9}  max {:>9}  ({} ok, {} errors; load average {})",
        run.ok as f64 / run.elapsed.as_secs_f64(),
        ms(pct(l, 0.50)),
        ms(pct(l, 0.99)),
        ms(pct(l, 0.999)),
        ms(pct(l, 1.0)),
        run.ok,
        run.errors,
        load_average()
    );
}

/// The generator gets one thread: the server under test has the machine's other core(s).
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let secs = env_or("MOMENTUM_LOAD_SECS", 4);
    let order_rate = env_or("MOMENTUM_LOAD_ORDER_RATE", 500);
    let quote_rate = env_or("MOMENTUM_LOAD_QUOTE_RATE", 1000);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut stores = vec![sqlite_store(dir.path())];
    match std::env::var("MOMENTUM_TEST_DB") {
        Ok(url) if !url.is_empty() => stores.push(postgres_store(dir.path(), &url)),
        _ => println!("(Postgres skipped: set MOMENTUM_TEST_DB=postgres://… to measure it too)"),
    }
    println!(
        "open loop, {secs} s per run, {} CPUs; latency from each request's due time",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut failed = false;
    for store in &stores {
        let server = start_server(&store.args);
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(4096)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let base = server.base.clone();

        let quote = json!({"offer_id": "creator-course", "country": "DE"});
        // Warm-up (connections, caches), not counted.
        let _ = open_loop(
            200,
            1,
            |_| client.post(format!("{base}/v1/quotes")).json(&quote),
            200,
        )
        .await;
        let run = open_loop(
            quote_rate,
            secs,
            |_| client.post(format!("{base}/v1/quotes")).json(&quote),
            200,
        )
        .await;
        report(store.name, "quotes", quote_rate, &run);
        failed |= run.errors > 0;

        let tokens = tokens(&client, &base, (order_rate * secs) as usize).await;
        let before = (store.charges)();
        let run = open_loop(
            order_rate,
            secs,
            |i| {
                let body = json!({"offer_id": "creator-course", "bump": i % 2 == 0,
                    "buyer": {"email": "load@example.com", "country": "DE"}, "payment_token": tokens[i]});
                client
                    .post(format!("{base}/v1/orders"))
                    .header("idempotency-key", format!("load-{i}"))
                    .json(&body)
            },
            201,
        )
        .await;
        report(store.name, "create-order", order_rate, &run);
        let charges = (store.charges)() - before;
        println!(
            "{:>8} charges stored: {charges} for {} orders created ({})",
            "",
            run.ok,
            if charges == run.ok as i64 {
                "ok"
            } else {
                "MISMATCH"
            }
        );
        failed |= run.errors > 0 || charges != run.ok as i64;
    }
    if failed {
        std::process::exit(1);
    }
}

//! Create-order benchmark (not a timed test): starts the real server binary on loopback with a
//! temporary SQLite file, fires `POST /v1/orders` from N concurrent tasks for a few seconds, and
//! prints requests/s and latency percentiles. Every order charges the test gateway once, so the run
//! also checks that the database holds exactly one charge per successful request.
//!
//!     cargo bench -p momentum-server --bench create_order --profile host
//!
//! Tunables (environment): MOMENTUM_BENCH_SECS (default 5), MOMENTUM_BENCH_CONCURRENCY (default 32).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

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

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; there is nothing to filter.
    let secs = env_or("MOMENTUM_BENCH_SECS", 5);
    let concurrency = env_or("MOMENTUM_BENCH_CONCURRENCY", 32) as usize;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("bench.sqlite");
    let mut child = Command::new(env!("CARGO_BIN_EXE_momentum-server"))
        // Thousands of tokens and orders from one address: no request budgets.
        .args(["--addr", "127.0.0.1:0", "--rate-limit", "off", "--db"])
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
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
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency * 2)
        .build()
        .expect("client");

    // Tokens are single use: make a pool first (not timed), as a provider's fields would.
    let pool_size = (secs as usize * 2500).max(2000);
    let made = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut makers = Vec::new();
    for _ in 0..concurrency {
        let (client, base, made) = (client.clone(), base.clone(), made.clone());
        makers.push(tokio::spawn(async move {
            let mut out = Vec::new();
            while made.fetch_add(1, Ordering::Relaxed) < pool_size {
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
        }));
    }
    let mut tokens = Vec::with_capacity(pool_size);
    for m in makers {
        tokens.extend(m.await.expect("token task"));
    }
    println!(
        "prepared {} tokens in {:.1} s",
        tokens.len(),
        t0.elapsed().as_secs_f64()
    );
    let tokens = Arc::new(tokens);

    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, base, tokens, next) =
            (client.clone(), base.clone(), tokens.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(tok) = tokens.get(i) else { break };
                let body = json!({"offer_id": "creator-course", "bump": i % 2 == 0, "buyer": {"email": "bench@example.com", "country": "DE"}, "payment_token": tok});
                let t = Instant::now();
                let r = client.post(format!("{base}/v1/orders")).header("idempotency-key", format!("bench-{i}")).json(&body).send().await;
                match r {
                    Ok(r) if r.status().as_u16() == 201 => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.await.expect("worker");
        lat.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed();
    lat.sort();
    let charges: i64 = rusqlite::Connection::open(&db)
        .and_then(|c| c.query_row("SELECT COUNT(*) FROM charges", [], |r| r.get(0)))
        .expect("count charges");
    let _ = child.kill();
    let _ = child.wait();

    println!("create_order: {} requests in {:.2} s from {concurrency} concurrent tasks over loopback ({errors} errors)", lat.len(), elapsed.as_secs_f64());
    println!(
        "  throughput: {:.0} requests/s",
        lat.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  latency:    p50 {}  p90 {}  p99 {}  max {}",
        ms(pct(&lat, 0.50)),
        ms(pct(&lat, 0.90)),
        ms(pct(&lat, 0.99)),
        ms(pct(&lat, 1.0))
    );
    println!(
        "  charges in the database: {charges} (one per successful request: {})",
        if charges == lat.len() as i64 {
            "ok"
        } else {
            "MISMATCH"
        }
    );
    if charges != lat.len() as i64 || errors > 0 {
        std::process::exit(1);
    }
}

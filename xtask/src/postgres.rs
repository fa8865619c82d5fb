//! A throwaway Postgres for the tests: Debian's `postgresql` package (installed with apt when
//! missing), a new cluster in its own data directory (`target/pg-test`) on a free loopback port,
//! trust authentication on 127.0.0.1 only, stopped (and its directory left for inspection) when
//! the guard drops — also when a test fails. `initdb` refuses to run as root, so as root the
//! cluster runs as the `postgres` user.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{root, tools};

/// A running test cluster; stopped on drop.
pub struct TestPostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    as_postgres: bool,
}

/// The newest `/usr/lib/postgresql/<version>/bin` with an `initdb`.
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port for Postgres: {e}"))
}

impl TestPostgres {
    /// Installs Postgres if needed and starts a new cluster.
    pub fn start() -> Result<TestPostgres, String> {
        let bin = match bin_dir() {
            Some(bin) => bin,
            None => {
                tools::apt_install(&["postgresql"])?;
                bin_dir()
                    .ok_or("apt installed postgresql but no /usr/lib/postgresql/*/bin/initdb")?
            }
        };
        let as_postgres = tools::is_root();
        let mut data = root().join("target/pg-test");
        if as_postgres && !runs_as_postgres("test", &["-x", &path_str(root().join("target"))]) {
            // The checkout is not reachable by the postgres user (a private home directory).
            data = std::env::temp_dir().join(format!("momentum-pg-test-{}", std::process::id()));
        }
        let pg = TestPostgres {
            bin,
            data,
            port: free_port()?,
            as_postgres,
        };
        pg.stop_leftover();
        if pg.data.exists() {
            std::fs::remove_dir_all(&pg.data)
                .map_err(|e| format!("remove {}: {e}", pg.data.display()))?;
        }
        std::fs::create_dir_all(&pg.data).map_err(|e| format!("{}: {e}", pg.data.display()))?;
        if as_postgres {
            pg.run_plain("chown", &["postgres:postgres", &path_str(&pg.data)])?;
        }
        let data = path_str(&pg.data);
        pg.run_pg(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        )?;
        let options = format!(
            "-p {} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=300",
            pg.port
        );
        let log = path_str(pg.data.join("server.log"));
        pg.run_pg(
            "pg_ctl",
            &[
                "-D", &data, "-o", &options, "-l", &log, "-w", "-t", "60", "start",
            ],
        )?;
        pg.wait_ready()?;
        println!("test Postgres on 127.0.0.1:{} ({data})", pg.port);
        Ok(pg)
    }

    /// A URL of the cluster's `postgres` database (the tests create their own from it).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn wait_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let port = self.port.to_string();
        while Instant::now() < deadline {
            let ok = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &port, "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(format!(
            "test Postgres did not become ready; see {}",
            self.data.join("server.log").display()
        ))
    }

    /// A cluster a crashed earlier run left running in the same directory.
    fn stop_leftover(&self) {
        if self.data.join("postmaster.pid").exists() {
            let _ = self
                .pg_command(
                    "pg_ctl",
                    &["-D", &path_str(&self.data), "-m", "immediate", "stop"],
                )
                .status();
        }
    }

    fn pg_command(&self, tool: &str, args: &[&str]) -> Command {
        let program = path_str(self.bin.join(tool));
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", &program]).args(args);
            c
        } else {
            let mut c = Command::new(program);
            c.args(args);
            c
        }
    }

    fn run_pg(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let out = self
            .pg_command(tool, args)
            .output()
            .map_err(|e| format!("could not start {tool}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{tool} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn run_plain(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let status = Command::new(program)
            .args(args)
            .status()
            .map_err(|e| format!("could not start {program}: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{program} {} failed ({status})", args.join(" ")))
        }
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let data = path_str(&self.data);
        match self.run_pg("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]) {
            Ok(()) => println!("test Postgres stopped"),
            Err(e) => eprintln!("xtask: stopping the test Postgres: {e}"),
        }
    }
}

fn runs_as_postgres(program: &str, args: &[&str]) -> bool {
    Command::new("runuser")
        .args(["-u", "postgres", "--", program])
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

fn path_str(p: impl AsRef<Path>) -> String {
    p.as_ref().to_string_lossy().into_owned()
}

//! A throwaway PostgreSQL server for tests and benchmarks: `initdb` into
//! `target/pg-test/<pid>-<n>/`, `pg_ctl start` on a free loopback port, one
//! fresh database per caller (`CREATE DATABASE t_<random>`), and teardown when
//! the owner drops it or its process ends, however it ends.
//!
//! Teardown does not rely on destructors (a test binary's statics never drop,
//! and a killed process runs nothing): a small reaper shell holds the read end
//! of a pipe whose write end only this process has. When the process is gone
//! the pipe closes, and the reaper stops the server and removes its directory.
//!
//! `initdb` refuses to run as root; as root, the server runs as the `postgres`
//! user that Debian's package creates (through `runuser`).

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use rand::Rng;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

/// What a developer reads when the server binaries are missing.
pub const HOW_TO_GET_POSTGRES: &str = "PostgreSQL's server binaries (initdb, pg_ctl) were not found: run \
     ./scripts/setup (it installs Debian's postgresql package), or set CLAWDFORGE_PG_BINDIR to their directory";

/// A running throwaway server; stopped and removed on drop.
pub struct ThrowawayPostgres {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
    run_as: Option<String>,
    reaper: Mutex<Option<(Child, ChildStdin)>>,
    admin: Mutex<Option<PgConnection>>,
}

static SHARED: OnceLock<ThrowawayPostgres> = OnceLock::new();
static STARTED: AtomicU32 = AtomicU32::new(0);

impl ThrowawayPostgres {
    /// One server per process, started on first use; each test takes its own
    /// database from it with [`ThrowawayPostgres::create_database`]. Panics,
    /// with one line saying how to fix it, when no server can be started:
    /// a test never passes by skipping Postgres.
    pub fn shared() -> &'static ThrowawayPostgres {
        SHARED.get_or_init(|| match ThrowawayPostgres::start() {
            Ok(pg) => pg,
            Err(e) => panic!("{e}"),
        })
    }

    /// Starts a server of this process's own (for tests that stop and restart it).
    pub fn start() -> Result<ThrowawayPostgres, String> {
        let bin = bin_dir().ok_or_else(|| HOW_TO_GET_POSTGRES.to_owned())?;
        let root = target_dir().join("pg-test");
        std::fs::create_dir_all(&root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
        remove_stale(&root, &bin);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let dir = root.join(format!("{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let run_as = server_user(&dir)?;
        let mut pg = ThrowawayPostgres { port: 0, reaper: Mutex::new(None), admin: Mutex::new(None), dir, bin, run_as };
        pg.reaper = Mutex::new(Some(pg.spawn_reaper()?));
        let initdb = pg
            .command("initdb")
            .args(["-D"])
            .arg(pg.data())
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"])
            .output()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !initdb.status.success() {
            return Err(format!("initdb failed: {}", String::from_utf8_lossy(&initdb.stderr).trim()));
        }
        pg.port = free_port()?;
        pg.start_server()?;
        Ok(pg)
    }

    /// The data directory.
    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A server binary, as the server's user.
    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new(runuser());
                c.args(["-u", user, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        }
    }

    /// The reaper: waits for the pipe to close, then stops the server at once
    /// and removes the directory. It ignores the terminal's signals, so a
    /// Ctrl-C that kills the tests still leaves it to clean up.
    fn spawn_reaper(&self) -> Result<(Child, ChildStdin), String> {
        let stop = self.command("pg_ctl");
        let mut args: Vec<std::ffi::OsString> = vec![stop.get_program().into()];
        args.extend(stop.get_args().map(Into::into));
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"trap '' INT HUP TERM; read _; "$@" -D "$0/data" stop -m immediate >/dev/null 2>&1; rm -rf -- "$0""#)
            .arg(&self.dir)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the throwaway server's reaper: {e}"))?;
        let stdin = child.stdin.take().ok_or("the reaper has no stdin")?;
        Ok((child, stdin))
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run pg_ctl: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let tail: Vec<_> = log.lines().rev().take(5).collect();
        Err(format!(
            "pg_ctl {} failed: {} {}",
            args.last().copied().unwrap_or(""),
            String::from_utf8_lossy(&out.stderr).trim(),
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        ))
    }

    fn start_server(&self) -> Result<(), String> {
        // fsync off: a test server need not survive the machine crashing, only
        // its own processes being killed (the page cache keeps what was written).
        // synchronous_commit stays on, so a commit is in the WAL when acknowledged.
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c max_connections=300",
            self.port
        );
        let log = self.dir.join("server.log");
        let log = log.to_str().ok_or("the target directory's path is not UTF-8")?;
        self.pg_ctl(&["-l", log, "-w", "-t", "60", "-o", &opts, "start"])
    }

    /// Starts the server again after [`ThrowawayPostgres::stop`] or
    /// [`ThrowawayPostgres::kill`], on the same port and data.
    pub fn restart(&self) -> Result<(), String> {
        self.start_server()
    }

    /// Stops the server cleanly (`pg_ctl stop -m fast`).
    pub fn stop(&self) -> Result<(), String> {
        self.forget_admin();
        self.pg_ctl(&["-w", "stop", "-m", "fast"])
    }

    /// Stops the server as a crash would (`pg_ctl stop -m immediate`: no
    /// checkpoint; the next start replays the WAL).
    pub fn kill(&self) -> Result<(), String> {
        self.forget_admin();
        self.pg_ctl(&["-w", "stop", "-m", "immediate"])
    }

    fn forget_admin(&self) {
        if let Ok(mut admin) = self.admin.lock() {
            admin.take();
        }
    }

    /// The port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `db` on this server.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates an empty database of its own for the caller and returns its URL.
    pub fn create_database(&self) -> String {
        let name = format!("t_{:016x}", rand::thread_rng().gen::<u64>());
        let mut admin = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        if admin.is_none() {
            let conn = PgConnection::establish(&self.url("postgres"))
                .unwrap_or_else(|e| panic!("cannot connect to the throwaway Postgres: {e}"));
            *admin = Some(conn);
        }
        let conn = admin.as_mut().unwrap_or_else(|| unreachable!("connected above"));
        if let Err(e) = conn.batch_execute(&format!("CREATE DATABASE {name}")) {
            admin.take();
            panic!("cannot create a test database: {e}");
        }
        self.url(&name)
    }
}

impl Drop for ThrowawayPostgres {
    fn drop(&mut self) {
        self.forget_admin();
        let reaper = self.reaper.get_mut().map(Option::take).unwrap_or_else(|e| e.into_inner().take());
        if let Some((mut child, stdin)) = reaper {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

/// Where `initdb` and `pg_ctl` are: `CLAWDFORGE_PG_BINDIR`, else the `PATH`,
/// else Debian's `/usr/lib/postgresql/<newest>/bin`.
fn bin_dir() -> Option<PathBuf> {
    let has_tools = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("CLAWDFORGE_PG_BINDIR") {
        return Some(PathBuf::from(dir)).filter(|d| has_tools(d));
    }
    if let Some(found) = std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).find(|d| has_tools(d))) {
        return Some(found);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, d)| has_tools(d))
        .collect();
    versions.sort();
    versions.pop().map(|(_, d)| d)
}

/// The workspace's `target/` (the ancestor of this executable named so), else the temp dir.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return std::path::absolute(dir).unwrap_or_else(|_| std::env::temp_dir());
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().find(|a| a.file_name().is_some_and(|n| n == "target")).map(Path::to_path_buf))
        .unwrap_or_else(std::env::temp_dir)
}

/// None when this process may run the server itself; as root, `postgres`, who
/// is given the directory.
fn server_user(dir: &Path) -> Result<Option<String>, String> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let user = nix::unistd::User::from_name("postgres")
        .ok()
        .flatten()
        .ok_or("initdb refuses to run as root and there is no postgres user: run ./scripts/setup")?;
    nix::unistd::chown(dir, Some(user.uid), Some(user.gid))
        .map_err(|e| format!("cannot give {} to the postgres user: {e}", dir.display()))?;
    Ok(Some(user.name))
}

fn runuser() -> PathBuf {
    ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("runuser"))
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| format!("no free port: {e}"))
}

/// Directories of processes that are gone and whose reaper did not run (it was
/// killed too): stop their server if it still runs, and remove them.
fn remove_stale(root: &Path, bin: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.split('-').next()).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let data = entry.path().join("data");
        if data.join("postmaster.pid").exists() {
            let mut stop = Command::new(bin.join("pg_ctl"));
            if nix::unistd::geteuid().is_root() {
                stop = Command::new(runuser());
                stop.args(["-u", "postgres", "--"]).arg(bin.join("pg_ctl"));
            }
            let _ = stop.arg("-D").arg(&data).args(["stop", "-m", "immediate"]).output();
        }
        let _ = std::fs::remove_dir_all(entry.path());
    }
}

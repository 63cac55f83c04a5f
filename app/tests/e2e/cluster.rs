//! Several gateways on one Postgres database, each a real process over TCP:
//! a session's requests reach the gateway that runs its agent wherever they
//! land (forwarded, streams included), a dead gateway's sessions are taken
//! over with their conversation intact, two gateways racing for one session
//! start one agent, and the gateway-to-gateway door stays shut to clients.

use crate::support::{eventually, processes_under, Instance, Reply, Server};
use clawdforge_adapters::ledger::postgres::throwaway::ThrowawayPostgres;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tempfile::TempDir;

const SECRET: &str = "the-cluster-secret-of-these-tests";
const SECRET_HEADER: &str = "x-clawdforge-cluster-secret";

/// Gateways of one cluster: one database, one shared `workspace_root`.
struct Cluster {
    url: String,
    shared: TempDir,
}

impl Cluster {
    fn new() -> Self {
        Self { url: ThrowawayPostgres::shared().create_database(), shared: tempfile::tempdir().expect("tempdir") }
    }

    /// A gateway named `node`: heartbeats every second, dead after four.
    fn gateway(&self, node: &str) -> Instance {
        Instance::new(&format!(
            "ledger = \"postgres\"\ndatabase_url = {url:?}\nagent_runtime = \"acp\"\ncluster_secret = {SECRET:?}\n\
             node_id = {node:?}\nheartbeat_secs = 1\nnode_dead_secs = 4\nworkspace_root = {root:?}\n",
            url = self.url,
            root = self.shared.path(),
        ))
    }

    /// The working directory of the default app's session `id`.
    fn workspace(&self, id: &str) -> PathBuf {
        self.shared.path().join("default").join(id)
    }
}

/// N of the `[turn N]` the echo agent ends its reply with (its own counter).
fn echo_count(body: &Value) -> u64 {
    let text = body["text"].as_str().unwrap_or_default();
    let n = text.rsplit("[turn ").next().and_then(|t| t.strip_suffix(']')).and_then(|n| n.parse().ok());
    n.unwrap_or_else(|| panic!("no turn counter in {text:?}"))
}

/// The parent process of `pid`, from /proc.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')').next()?.split_whitespace().nth(1)?.parse().ok()
}

/// The agent processes of a session, once exactly one is left; with its parent (the gateway running it).
async fn one_agent(dir: &Path) -> u32 {
    eventually(20, || {
        let agents = processes_under(dir);
        async move { (agents.len() == 1).then(|| parent_of(agents[0]).unwrap_or(0)) }
    })
    .await
}

/// A turn, retried while the session's gateway is unreachable or changing (503).
async fn turn_until_served(gw: &Server, token: &str, id: &str, prompt: &str) -> Value {
    eventually(30, || async {
        let reply = gw.turn(token, id, prompt).await;
        match reply.status.as_u16() {
            503 => None,
            _ => Some(reply.expect_status(200)),
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_turn_sent_to_another_gateway_runs_at_the_owner_and_the_agent_continues() {
    let cluster = Cluster::new();
    let (a, b) = (cluster.gateway("gw-a").start(), cluster.gateway("gw-b").start());
    let token = a.token();
    let id = a.open_session(&token, "echo").await;
    let body = a.turn(&token, &id, "one").await.expect_status(200);
    assert_eq!((body["turn_index"].as_u64(), echo_count(&body)), (Some(1), 1));

    let body = b.turn(&token, &id, "two").await.expect_status(200);
    assert_eq!((body["turn_index"].as_u64(), echo_count(&body)), (Some(2), 2), "{body}");
    assert_eq!(body["text"].as_str().map(|t| t.starts_with("two")), Some(true));
    assert_eq!(one_agent(&cluster.workspace(&id)).await, a.pid(), "the owner runs the only agent");

    // Every session-scoped request is answered as the owner would.
    let view = b.get(&token, &format!("/sessions/{id}")).await.expect_status(200);
    assert_eq!((view["session_id"].as_str(), view["turn_count"].as_u64()), (Some(id.as_str()), Some(2)));
    let turns = b.get(&token, &format!("/sessions/{id}/turns")).await.expect_status(200);
    assert_eq!(turns["turns"].as_array().map(Vec::len), Some(2));
    // The owner still authenticates the app: a wrong token is refused there.
    assert_eq!(b.get("cf_not-a-token", &format!("/sessions/{id}")).await.expect_status(401)["code"], "unauthorized");
    let unknown = b.get(&token, "/sessions/no-such-session-here").await.expect_status(404);
    assert_eq!(unknown["code"], "not_found");

    b.delete(&token, &id).await.expect_status(200);
    eventually(10, || {
        let left = processes_under(&cluster.workspace(&id));
        async move { left.is_empty().then_some(()) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn streams_asked_of_another_gateway_come_through_as_they_run() {
    let cluster = Cluster::new();
    let (a, b) = (cluster.gateway("gw-a").start(), cluster.gateway("gw-b").start());
    let token = a.token();
    let id = a.open_session(&token, "echo").await;

    let mut turn = b.stream_turn(&token, &id, "streamed").await.expect("an event stream");
    let events = turn.rest().await;
    let last = events.last().expect("events");
    assert_eq!(last.event, "turn", "{events:?}");
    assert_eq!(echo_count(&last.data), 1);
    assert!(events.iter().any(|e| e.event == "update"), "{events:?}");

    // The session's feed, followed through gateway b while gateway a writes it.
    let mut feed = b.feed(&token, &id, None).await.expect("an event stream");
    let mut seen = Vec::new();
    while let Some(e) = feed.next().await {
        let done = e.event == "turn";
        seen.push(e);
        if done {
            break;
        }
    }
    let closer = {
        let (b, token, id) = (&b, token.clone(), id.clone());
        async move { b.delete(&token, &id).await.expect_status(200) }
    };
    let (_, rest) = tokio::join!(closer, feed.rest());
    assert_eq!(rest.last().map(|e| e.event.as_str()), Some("closed"), "the live end arrives: {rest:?}");
    let ids: Vec<u64> = seen.iter().chain(&rest).filter_map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_gateways_session_is_taken_over_and_its_conversation_continues() {
    let cluster = Cluster::new();
    let (a, b) = (cluster.gateway("gw-a").start(), cluster.gateway("gw-b").start());
    let token = a.token();
    let id = a.open_session(&token, "echo").await;
    for n in 1..=2 {
        assert_eq!(echo_count(&a.turn(&token, &id, "before").await.expect_status(200)), n);
    }
    a.kill9();

    // Until gw-a counts as dead the answer is 503 with Retry-After; then gw-b takes over.
    let refused = b.turn(&token, &id, "too early").await;
    if refused.status.as_u16() == 503 {
        assert_eq!(refused.body["code"], "unavailable");
        assert!(refused.headers.contains_key("retry-after"));
    }
    let body = turn_until_served(&b, &token, &id, "after").await;
    assert_eq!((body["turn_index"].as_u64(), echo_count(&body)), (Some(3), 3), "{body}");
    assert_eq!(one_agent(&cluster.workspace(&id)).await, b.pid());
    assert!(b.stderr.lock().expect("log").contains("took the session over"));
    let body = b.turn(&token, &id, "and on").await.expect_status(200);
    assert_eq!(echo_count(&body), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_gateways_racing_to_take_over_one_session_start_one_agent_and_keep_turn_order() {
    let cluster = Cluster::new();
    let a = cluster.gateway("gw-a").start();
    let (b, c) = (Arc::new(cluster.gateway("gw-b").start()), Arc::new(cluster.gateway("gw-c").start()));
    let token = a.token();
    let id = a.open_session(&token, "echo").await;
    assert_eq!(echo_count(&a.turn(&token, &id, "first").await.expect_status(200)), 1);
    a.kill9();

    let mut racers = Vec::new();
    for n in 0..6 {
        let (gw, token, id) = (if n % 2 == 0 { b.clone() } else { c.clone() }, token.clone(), id.clone());
        racers.push(tokio::spawn(async move { turn_until_served(&gw, &token, &id, &format!("racer {n}")).await }));
    }
    for r in racers {
        r.await.expect("racer");
    }
    let runner = one_agent(&cluster.workspace(&id)).await;
    assert!(runner == b.pid() || runner == c.pid(), "{runner}");
    let winners = [&b, &c].iter().filter(|g| g.stderr.lock().expect("log").contains("took the session over")).count();
    assert_eq!(winners, 1);

    let turns = b.get(&token, &format!("/sessions/{id}/turns")).await.expect_status(200);
    let turns = turns["turns"].as_array().expect("turns").clone();
    assert_eq!(turns.len(), 7);
    for (k, t) in turns.iter().enumerate() {
        // One agent, one counter: the agent's count is the ledger's index, turn after turn.
        assert_eq!((t["turn_index"].as_u64(), echo_count(t)), (Some(k as u64 + 1), k as u64 + 1), "{t}");
    }
}

/// A request to `gw` with the cluster header set to `secret`.
async fn with_secret(gw: &Server, token: &str, path: &str, secret: &str) -> Reply {
    let resp = reqwest::Client::new()
        .get(format!("{}{path}", gw.base))
        .bearer_auth(token)
        .header(SECRET_HEADER, secret)
        .send()
        .await
        .expect("request reaches the server");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(Value::Null);
    Reply { status, body, headers }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_forged_or_empty_cluster_secret_is_refused() {
    let cluster = Cluster::new();
    let (a, b) = (cluster.gateway("gw-a").start(), cluster.gateway("gw-b").start());
    let token = a.token();
    let id = a.open_session(&token, "echo").await;
    for forged in ["", "the-cluster-secret-of-these-test", "guess"] {
        let reply = with_secret(&b, &token, &format!("/sessions/{id}"), forged).await;
        assert_eq!(reply.status.as_u16(), 401, "{forged:?}: {}", reply.body);
        assert_eq!(reply.body["code"], "unauthorized");
        assert!(reply.body["error"].as_str().is_some_and(|e| e.contains(SECRET_HEADER)), "{}", reply.body);
    }
    // The real secret is served where it lands, never forwarded again (gw-b
    // is not the owner: it says so instead of passing the request on).
    let reply = with_secret(&b, &token, &format!("/sessions/{id}"), SECRET).await;
    assert_eq!((reply.status.as_u16(), &reply.body["code"]), (503, &json!("unavailable")), "{}", reply.body);
    assert_eq!(with_secret(&a, &token, &format!("/sessions/{id}"), SECRET).await.status.as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_cannot_make_a_gateway_fetch_a_url_of_its_choosing() {
    let trap = std::net::TcpListener::bind("127.0.0.1:0").expect("trap");
    trap.set_nonblocking(true).expect("nonblocking");
    let there = trap.local_addr().expect("addr").to_string();
    let cluster = Cluster::new();
    let (a, b) = (cluster.gateway("gw-a").start(), cluster.gateway("gw-b").start());
    let token = a.token();
    let id = a.open_session(&token, "echo").await;

    let http = reqwest::Client::new();
    let escaped = there.replace(':', "%3A");
    let paths = [
        format!("/sessions/{id}"),
        format!("/sessions/http%3A%2F%2F{escaped}%2Fxxxxxxxxxxxxxxxx"),
        format!("/sessions/{id}/..%2F..%2F{escaped}"),
        format!("//{there}/sessions/{id}"),
    ];
    for path in &paths {
        let resp = http
            .get(format!("{}{path}", b.base))
            .bearer_auth(&token)
            .header("Host", there.as_str())
            .header("X-Forwarded-Host", there.as_str())
            .header("Forwarded", format!("host={there}"))
            .header("X-Clawdforge-Node", format!("http://{there}"))
            .send()
            .await
            .expect("answered");
        assert!(resp.status().as_u16() < 500, "{path}: {}", resp.status());
    }
    // The first path was the owner's session: answered by gw-a, never by the trap.
    let view = b.get(&token, &format!("/sessions/{id}")).await.expect_status(200);
    assert_eq!(view["session_id"].as_str(), Some(id.as_str()));
    assert!(matches!(trap.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock), "the trap was called");
}

/// Freezes (SIGSTOP) or thaws (SIGCONT) a gateway.
fn signal(gw: &Server, sig: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(gw.pid()).expect("pid fits"));
    nix::sys::signal::kill(pid, sig).expect("signal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_frozen_gateway_that_comes_back_stops_its_agents_and_forwards_to_the_new_owner() {
    use nix::sys::signal::Signal;
    let cluster = Cluster::new();
    let (a, b) = (cluster.gateway("gw-a").start(), cluster.gateway("gw-b").start());
    let token = a.token();
    let id = a.open_session(&token, "echo").await;
    assert_eq!(echo_count(&a.turn(&token, &id, "one").await.expect_status(200)), 1);

    signal(&a, Signal::SIGSTOP);
    let body = turn_until_served(&b, &token, &id, "two").await;
    assert_eq!(echo_count(&body), 2);
    signal(&a, Signal::SIGCONT);

    // Back, gw-a finds its heartbeat stale: it stops its agent, and serves
    // the session no more (it forwards to gw-b, which now owns it).
    assert_eq!(one_agent(&cluster.workspace(&id)).await, b.pid());
    let body = turn_until_served(&a, &token, &id, "three").await;
    assert_eq!((body["turn_index"].as_u64(), echo_count(&body)), (Some(3), 3), "{body}");
    assert_eq!(one_agent(&cluster.workspace(&id)).await, b.pid());
    assert!(a.stderr.lock().expect("log").contains("no heartbeat for too long"));
}

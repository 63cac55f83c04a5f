//! The baseline server: one trivial poem endpoint on the same stack as the
//! gateway (poem on a multi-threaded tokio runtime), in its own process.

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Json;
use poem::{get, handler, Route, Server};
use serde_json::{json, Value};

#[handler]
fn ping() -> Json<Value> {
    Json(json!({ "ok": true }))
}

/// Serves `GET /ping` on a free loopback port and prints `listening on http://ADDR`.
pub fn run() -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await?;
        let addr = acceptor.local_addr().first().map(ToString::to_string).unwrap_or_default();
        println!("listening on http://{}", addr.trim_start_matches("socket://"));
        Server::new_with_acceptor(acceptor).run(Route::new().at("/ping", get(ping))).await
    })
}

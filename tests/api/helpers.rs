//! `spawn_app`: the real application on a free port, and a client for it.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hwcost::catalog::Catalog;
use hwcost::startup::{Application, Settings, Shutdown};

/// A running app and a client pointed at it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// What SIGTERM does to the real server.
    pub shutdown: Shutdown,
    /// The server future, finished once it has stopped.
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
}

fn catalog() -> Arc<Catalog> {
    static CATALOG: OnceLock<Arc<Catalog>> = OnceLock::new();
    CATALOG.get_or_init(|| Arc::new(Catalog::embedded().expect("the embedded catalog loads"))).clone()
}

/// Starts the app with the embedded catalog and default settings.
pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

/// Starts the app after `adjust` has changed the settings.
pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = Settings {
        cors_origins: vec!["https://dashboard.example".into()],
        workers: Some(1),
        ..Settings::new("127.0.0.1:0", catalog())
    };
    adjust(&mut settings);
    let app = Application::build(settings).expect("the app binds a free port");
    let address = format!("http://127.0.0.1:{}", app.port());
    let shutdown = app.shutdown();
    let server = tokio::spawn(app.into_server());
    // Idle connections are dropped before the server's keep-alive (5 s) could close them under a
    // test that pauses between requests (running CLI subprocesses): a reused closed
    // connection fails as an incomplete message.
    let client = reqwest::Client::builder().pool_idle_timeout(Duration::from_secs(2)).build().expect("a client");
    TestApp { address, client, shutdown, server }
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.address)).send().await.expect("request is sent")
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("body is JSON"))
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.address))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request is sent")
    }
}

impl TestApp {
    /// POSTs `body` as JSON and returns the status and the parsed body.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let response = self.post_raw(path, "application/json", serde_json::to_vec(body).expect("serialisable")).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("body is JSON"))
    }
}

/// The `explain` entry of rule `id` in an answer (panics, naming it, when absent).
pub fn explain_rule<'a>(body: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    body["explain"].as_array().unwrap().iter().find(|e| e["rule"] == id).unwrap_or_else(|| panic!("no {id}"))
}

//! Helpers shared by the web integration tests that serve on a real socket: lifecycle hooks
//! that do nothing, and a state served on a free loopback port.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use firewatch_web::webconfig::WebConfig;
use firewatch_web::{self as web, LifecycleHooks, WebState};

/// Hooks whose reload succeeds and whose quit does nothing.
pub struct NoHooks;

impl LifecycleHooks for NoHooks {
    fn reload(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async { Ok(()) })
    }
    fn quit(&self) {}
}

/// Serves `state` through `web::serve` with `config` on 127.0.0.1; returns the address and a
/// sender that stops the server.
pub async fn serve(
    state: WebState,
    config: Option<WebConfig>,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        web::serve::serve(listener, web::router(Arc::new(state)), config, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (addr, tx)
}

//! The `Emulator` handle: binding the plain-HTTP and HTTPS listeners on loopback, running
//! their accept loops, and stopping them. Connections are served by hyper-util's auto
//! (HTTP/1.1 and HTTP/2) builder over the same axum router, and every connection task is
//! owned by its listener's `JoinSet`, so stopping the listener also drops keep-alive
//! connections instead of leaving them serving a finished test. `start_in_thread` wraps the
//! same machinery in a private runtime for synchronous tests that spawn the lzaudit binary.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::faults::Options;
use crate::reply::DropConnection;
use crate::serve::{self, Listener, RequestLog, Shared};
use crate::tenant::Tenant;
use crate::tls;

/// A running emulator. Dropping it stops both listeners (and, for `start_in_thread`, joins
/// the background thread).
pub struct Emulator {
    shared: Arc<Shared>,
    http_addr: SocketAddr,
    https_addr: SocketAddr,
    ca_pem: String,
    runner: Runner,
}

enum Runner {
    /// Accept loops spawned on the caller's runtime.
    Tasks {
        stop: watch::Sender<bool>,
        tasks: Vec<JoinHandle<()>>,
    },
    /// A private runtime on its own thread; the inner `Emulator` lives there.
    Thread {
        stop: Option<oneshot::Sender<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    },
    Stopped,
}

impl Emulator {
    /// Starts both listeners on `127.0.0.1`, each on a free port.
    pub async fn start(tenant: Tenant, options: Options) -> io::Result<Emulator> {
        Emulator::start_on_ports(tenant, options, 0, 0).await
    }

    /// Starts both listeners on the given loopback ports (0 picks a free one), for the
    /// command-line server.
    pub async fn start_on_ports(
        tenant: Tenant,
        options: Options,
        http_port: u16,
        https_port: u16,
    ) -> io::Result<Emulator> {
        let pki = tls::generate()?;
        let http = TcpListener::bind((Ipv4Addr::LOCALHOST, http_port)).await?;
        let https = TcpListener::bind((Ipv4Addr::LOCALHOST, https_port)).await?;
        let http_addr = http.local_addr()?;
        let https_addr = https.local_addr()?;
        let shared = Arc::new(Shared::new(
            tenant,
            options,
            format!("https://{https_addr}"),
        ));
        let router = |scheme: &'static str, local: SocketAddr| {
            Router::new().fallback(serve::handle).with_state(Listener {
                shared: Arc::clone(&shared),
                scheme,
                local,
            })
        };
        let (stop, stopped) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(accept_loop(
                http,
                router("http", http_addr),
                None,
                stopped.clone(),
            )),
            tokio::spawn(accept_loop(
                https,
                router("https", https_addr),
                Some(pki.acceptor),
                stopped,
            )),
        ];
        Ok(Emulator {
            shared,
            http_addr,
            https_addr,
            ca_pem: pki.ca_pem,
            runner: Runner::Tasks { stop, tasks },
        })
    }

    /// Starts the emulator on a private two-thread tokio runtime on a background thread, for
    /// plain `#[test]` functions.
    ///
    /// # Panics
    ///
    /// If the runtime cannot be built or the loopback listeners cannot be bound: this is a
    /// test helper, and a test cannot proceed without its server.
    pub fn start_in_thread(tenant: Tenant, options: Options) -> Emulator {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("lzaudit-emulator".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match Emulator::start(tenant, options).await {
                        Ok(emulator) => {
                            let view = (
                                Arc::clone(&emulator.shared),
                                emulator.http_addr,
                                emulator.https_addr,
                                emulator.ca_pem.clone(),
                            );
                            let _ = ready_tx.send(Ok(view));
                            let _ = stop_rx.await;
                            emulator.shutdown().await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
            })
            .expect("lzaudit-emulator: cannot spawn the emulator thread");
        let (shared, http_addr, https_addr, ca_pem) = ready_rx
            .recv()
            .expect("lzaudit-emulator: the emulator thread died while starting")
            .expect("lzaudit-emulator: cannot start the emulator");
        Emulator {
            shared,
            http_addr,
            https_addr,
            ca_pem,
            runner: Runner::Thread {
                stop: Some(stop_tx),
                thread: Some(thread),
            },
        }
    }

    /// `http://127.0.0.1:PORT`: ARM over plain HTTP.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// `https://127.0.0.1:PORT`: the same routes over TLS; also the Entra authority host.
    pub fn https_url(&self) -> String {
        format!("https://{}", self.https_addr)
    }

    /// A `SYSTEM_OIDCREQUESTURI` for `AzurePipelinesCredential`: the emulator's stand-in for
    /// the Azure DevOps endpoint that hands a pipeline job its federated assertion, in the
    /// fixture's `azure_devops` organisation and project (`emulator/project` without one,
    /// where every request is refused).
    pub fn pipelines_oidc_url(&self) -> String {
        let (organization, project) = self
            .shared
            .tenant
            .azure_devops()
            .map_or(("emulator", "project"), |d| {
                (d.organization.as_str(), d.project.as_str())
            });
        format!(
            "{}/{organization}/{project}/_apis/distributedtask/hubs/build/plans/plan/jobs/job/oidctoken",
            self.https_url()
        )
    }

    /// An `IDENTITY_ENDPOINT` for `ManagedIdentityCredential`'s App Service flavour (plain
    /// HTTP on loopback, as App Service's own endpoint is); pair it with
    /// [`Emulator::identity_header`] as `IDENTITY_HEADER`.
    pub fn identity_endpoint(&self) -> String {
        format!("{}{}", self.http_url(), crate::identity::APP_SERVICE_PATH)
    }

    /// The `IDENTITY_HEADER` secret the App Service managed-identity endpoint expects in
    /// `X-IDENTITY-HEADER`; random per instance.
    pub fn identity_header(&self) -> String {
        self.shared.identity_header.clone()
    }

    /// The IMDS-shaped token endpoint: `http://127.0.0.1:PORT/metadata/identity/oauth2/token`
    /// (azure_identity's VM credential cannot be pointed here: it always calls
    /// 169.254.169.254).
    pub fn imds_endpoint(&self) -> String {
        format!("{}{}", self.http_url(), crate::identity::IMDS_PATH)
    }

    /// PEM of the CA that signed the HTTPS certificate (SANs `127.0.0.1` and `localhost`).
    pub fn ca_pem(&self) -> String {
        self.ca_pem.clone()
    }

    /// The fixture being served.
    pub fn tenant(&self) -> &Tenant {
        &self.shared.tenant
    }

    /// Requests served so far on both listeners, token requests and failures included.
    pub fn request_count(&self) -> usize {
        self.shared.log().len()
    }

    /// Every request served so far, in order.
    pub fn requests(&self) -> Vec<RequestLog> {
        self.shared.log().clone()
    }

    /// The chaos faults injected since the options were last set, by kind name.
    pub fn chaos_injected(&self) -> std::collections::BTreeMap<String, usize> {
        self.shared.faults().chaos.injected.clone()
    }

    /// Replaces paging and fault options; throttle and fail counters start again from zero.
    /// Tokens already issued keep their expiry.
    pub fn set_options(&self, options: Options) {
        self.shared.faults().replace(options);
    }

    /// Stops both listeners and waits for their accept loops to end. Open connections are
    /// dropped.
    pub async fn shutdown(mut self) {
        match std::mem::replace(&mut self.runner, Runner::Stopped) {
            Runner::Tasks { stop, tasks } => {
                let _ = stop.send(true);
                for task in tasks {
                    let _ = task.await;
                }
            }
            Runner::Thread {
                mut stop,
                mut thread,
            } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                if let Some(thread) = thread.take() {
                    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
                }
            }
            Runner::Stopped => {}
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        match &mut self.runner {
            Runner::Tasks { stop, tasks } => {
                let _ = stop.send(true);
                for task in tasks {
                    task.abort();
                }
            }
            Runner::Thread { stop, thread } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                if let Some(thread) = thread.take() {
                    let _ = thread.join();
                }
            }
            Runner::Stopped => {}
        }
    }
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("http", &self.http_url())
            .field("https", &self.https_url())
            .finish_non_exhaustive()
    }
}

/// The router as a hyper service that closes the connection, instead of answering, when the
/// response is marked `DropConnection` (a chaos fault): hyper drops a connection whose service
/// fails, which is what a client sees when a front door dies mid-request.
fn dropping_service(
    router: Router,
) -> impl hyper::service::Service<
    hyper::Request<hyper::body::Incoming>,
    Response = axum::response::Response,
    Error = io::Error,
    Future = impl Future<Output = Result<axum::response::Response, io::Error>> + Send,
> + Clone {
    hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
        let router = router.clone();
        async move {
            let response = tower::ServiceExt::oneshot(router, request)
                .await
                .unwrap_or_else(|never| match never {});
            if response.extensions().get::<DropConnection>().is_some() {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "connection dropped before the response (injected fault)",
                ));
            }
            Ok(response)
        }
    })
}

/// Accepts connections until told to stop, serving each on its own task. TLS handshakes
/// happen on the connection task so a slow or broken client cannot stall accepting.
async fn accept_loop(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // Like Azure's front doors: no Nagle delay. Without it a response written in
                // two parts waits out the client's delayed ACK (~40 ms on Linux loopback), which
                // would make request timings of the emulator meaningless.
                let _ = stream.set_nodelay(true);
                let service = dropping_service(router.clone());
                let tls = tls.clone();
                connections.spawn(async move {
                    let builder = Builder::new(TokioExecutor::new());
                    let result = match tls {
                        Some(acceptor) => match acceptor.accept(stream).await {
                            Ok(stream) => builder.serve_connection_with_upgrades(TokioIo::new(stream), service).await,
                            Err(e) => {
                                tracing::debug!("TLS handshake failed: {e}");
                                return;
                            }
                        },
                        None => builder.serve_connection_with_upgrades(TokioIo::new(stream), service).await,
                    };
                    if let Err(e) = result {
                        tracing::debug!("connection ended with an error: {e}");
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

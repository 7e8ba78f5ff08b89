//! Host names resolved in Rust: `/etc/hosts`, then the name servers of
//! `/etc/resolv.conf` (hickory). A statically linked binary cannot load
//! the C library's resolver modules, so in an empty container holding
//! only the binary and those two files, the operating system's resolver
//! fails where this one works. When it finds nothing, the operating
//! system's resolver is asked too (it may know names from elsewhere:
//! LDAP, mDNS, …), and both answers are reported.

use std::net::SocketAddr;
use std::sync::OnceLock;

use ferrokafka::low_level::{Resolve, SystemResolver};
use futures::future::BoxFuture;
use hickory_resolver::TokioResolver;

/// Rust first, then the operating system.
#[derive(Debug, Default)]
pub(crate) struct RustResolver {
    hickory: OnceLock<Result<TokioResolver, String>>,
}

impl RustResolver {
    fn hickory(&self) -> Result<&TokioResolver, &str> {
        self.hickory
            .get_or_init(|| {
                TokioResolver::builder_tokio()
                    .map(|b| b.build())
                    .map_err(|e| format!("cannot read the resolver configuration: {e}"))
            })
            .as_ref()
            .map_err(String::as_str)
    }
}

impl Resolve for RustResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, Result<Vec<SocketAddr>, String>> {
        Box::pin(async move {
            let ours = match self.hickory() {
                Ok(resolver) => match resolver.lookup_ip(host).await {
                    Ok(found) => {
                        let addrs: Vec<SocketAddr> =
                            found.iter().map(|ip| SocketAddr::new(ip, port)).collect();
                        if !addrs.is_empty() {
                            return Ok(addrs);
                        }
                        "no addresses".to_owned()
                    }
                    Err(e) => e.to_string(),
                },
                Err(e) => e.to_owned(),
            };
            SystemResolver.resolve(host, port).await.map_err(|system| {
                format!("{ours} (hosts file and DNS); the system resolver: {system}")
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn localhost_resolves_from_the_hosts_file() {
        let addrs = RustResolver::default()
            .resolve("localhost", 9092)
            .await
            .unwrap();
        assert!(
            addrs
                .iter()
                .all(|a| a.port() == 9092 && a.ip().is_loopback()),
            "{addrs:?}"
        );
        let err = RustResolver::default()
            .resolve("no-such-host.invalid", 1)
            .await
            .unwrap_err();
        assert!(err.contains("system resolver"), "{err}");
    }
}

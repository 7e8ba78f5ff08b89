//! stunnel4 terminating TLS in front of a plaintext port, so brokers and
//! servers without TLS can be reached over TLS and mutual TLS.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::pki::Pki;
use crate::process::{loopback, wait_for_port, KillOnDrop};

/// Whether the proxy asks the client for a certificate.
#[derive(Debug, Clone, Copy)]
pub enum ClientCertificate<'a> {
    /// It does not ask.
    NotAsked,
    /// It requires one signed by the CA in this file of the [`Pki`].
    Required(&'a str),
    /// It asks for one signed by the CA in this file of the [`Pki`], and
    /// goes on without one.
    Optional(&'a str),
}

/// A running stunnel, stopped on drop.
#[derive(Debug)]
pub struct Stunnel {
    _process: KillOnDrop,
    port: u16,
}

/// The stunnel command (`stunnel4` on Debian, `stunnel` elsewhere), or
/// how to install it.
pub fn stunnel_binary() -> Result<&'static str, String> {
    ["stunnel4", "stunnel"]
        .into_iter()
        .find(|candidate| {
            Command::new(candidate)
                .arg("-version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok()
        })
        .ok_or_else(|| "stunnel4 is not installed: run `apt-get install -y stunnel4`".to_owned())
}

/// The [`Pki`] files of the server certificate and key that a proxy shows
/// unless told otherwise.
pub const SERVER_IDENTITY: (&str, &str) = ("server.pem", "server.key");

impl Stunnel {
    /// TLS with the PKI's server certificate, no client certificate asked:
    /// [`start`](Self::start) with [`SERVER_IDENTITY`] and
    /// [`ClientCertificate::NotAsked`].
    pub fn tls(pki: &Pki, port: u16, backend: SocketAddr) -> Stunnel {
        Self::start(
            pki,
            port,
            backend,
            SERVER_IDENTITY,
            ClientCertificate::NotAsked,
        )
    }

    /// Mutual TLS: the PKI's server certificate, and a client certificate
    /// signed by the CA in the PKI file `client_ca` required.
    pub fn mtls(pki: &Pki, port: u16, backend: SocketAddr, client_ca: &str) -> Stunnel {
        Self::start(
            pki,
            port,
            backend,
            SERVER_IDENTITY,
            ClientCertificate::Required(client_ca),
        )
    }

    /// Listens on loopback `port` with the certificate and key in the
    /// [`Pki`] files `cert` and `key`, and forwards the decrypted bytes to
    /// `backend`. Its configuration and log go to the PKI's directory.
    ///
    /// # Panics
    /// When stunnel is missing (the message says how to install it) or
    /// does not listen within a minute.
    pub fn start(
        pki: &Pki,
        port: u16,
        backend: SocketAddr,
        identity: (&str, &str),
        client_certificate: ClientCertificate<'_>,
    ) -> Stunnel {
        Self::spawn(pki, port, backend, identity, client_certificate, "")
    }

    /// TLS 1.0 and 1.1 only, with the PKI's server certificate: a broker
    /// too old for clients that require TLS 1.2.
    pub fn legacy_tls_only(pki: &Pki, port: u16, backend: SocketAddr) -> Stunnel {
        // SECLEVEL=0: OpenSSL 3 refuses TLS 1.0/1.1 at its default level.
        let versions =
            "sslVersionMin = TLSv1\nsslVersionMax = TLSv1.1\nciphers = DEFAULT@SECLEVEL=0\n";
        Self::spawn(
            pki,
            port,
            backend,
            SERVER_IDENTITY,
            ClientCertificate::NotAsked,
            versions,
        )
    }

    /// `service_options`: more lines for the service section.
    fn spawn(
        pki: &Pki,
        port: u16,
        backend: SocketAddr,
        (cert, key): (&str, &str),
        client_certificate: ClientCertificate<'_>,
        service_options: &str,
    ) -> Stunnel {
        let mut conf = format!(
            "foreground = yes\npid =\ndebug = 4\noutput = {}\n[kafka]\naccept = {}\nconnect = {backend}\ncert = {}\nkey = {}\n",
            pki.path(&format!("stunnel-{port}.log")),
            loopback(port),
            pki.path(cert),
            pki.path(key),
        );
        conf.push_str(service_options);
        let (ca, required) = match client_certificate {
            ClientCertificate::NotAsked => (None, false),
            ClientCertificate::Required(ca) => (Some(ca), true),
            ClientCertificate::Optional(ca) => (Some(ca), false),
        };
        if let Some(ca) = ca {
            conf.push_str(&format!(
                "CAfile = {}\nverifyChain = yes\nrequireCert = {}\n",
                pki.path(ca),
                if required { "yes" } else { "no" }
            ));
        }
        let conf_path = pki.dir().write(&format!("stunnel-{port}.conf"), conf);
        let binary = stunnel_binary().unwrap_or_else(|why| panic!("{why}"));
        let child = Command::new(binary)
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {binary}: {e}"));
        let mut process = KillOnDrop(child);
        if let Err(why) = wait_for_port(
            loopback(port),
            &mut process,
            binary,
            Duration::from_secs(60),
        ) {
            let log = std::fs::read_to_string(pki.path(&format!("stunnel-{port}.log")))
                .unwrap_or_default();
            panic!("{why}; its log:\n{log}");
        }
        Stunnel {
            _process: process,
            port,
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
}

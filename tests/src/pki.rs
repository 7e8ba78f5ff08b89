//! A throw-away public key infrastructure for TLS tests: a certificate
//! authority issuing server and client certificates (rcgen, ring backend),
//! and the usual set written to a temporary directory.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::tempdir::TempDir;

/// A certificate and its private key, PEM and DER.
#[derive(Clone)]
pub struct Issued {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PKCS#8 PEM.
    pub key_pem: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The private key, PKCS#8 DER.
    pub key_der: Vec<u8>,
}

impl std::fmt::Debug for Issued {
    // Test keys are not secrets, but keys stay out of output everywhere.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("cert_pem", &self.cert_pem)
            .finish_non_exhaustive()
    }
}

/// A self-signed certificate authority for one test.
pub struct TestCa {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa")
            .field("pem", &self.pem)
            .finish_non_exhaustive()
    }
}

impl TestCa {
    /// A new CA with this common name.
    pub fn new(common_name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        let pem = params.self_signed(&key).expect("self-signed CA").pem();
        TestCa {
            pem,
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA certificate, PEM (what a trust store holds).
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// A server certificate for `names` (host names or IP addresses).
    pub fn server(&self, names: &[&str]) -> Issued {
        self.issue(server_params(names))
    }

    /// A server certificate for `names` that expired in 2002.
    pub fn expired_server(&self, names: &[&str]) -> Issued {
        let mut params = server_params(names);
        params.not_before = rcgen::date_time_ymd(2001, 1, 1);
        params.not_after = rcgen::date_time_ymd(2002, 1, 1);
        self.issue(params)
    }

    /// A client certificate with this common name.
    pub fn client(&self, common_name: &str) -> Issued {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("client parameters");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params)
    }

    fn issue(&self, params: CertificateParams) -> Issued {
        let key = KeyPair::generate().expect("leaf key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("signed certificate");
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
            key_der: key.serialize_der(),
        }
    }
}

fn server_params(names: &[&str]) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|&n| n.to_owned()).collect();
    let mut params = CertificateParams::new(names).expect("server names");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params
}

/// The usual TLS test set, in memory and written to a temporary directory
/// (removed on drop):
///
/// | file | what |
/// | --- | --- |
/// | `ca.pem` | the CA |
/// | `other-ca.pem` | a CA nobody trusts |
/// | `server.pem`, `server.key` | a server certificate for the given names |
/// | `expired.pem`, `expired.key` | the same, expired |
/// | `client.pem`, `client.key` | a client certificate (`CN=ferrokafka-client`) |
/// | `client-keystore.pem` | the client chain and key in one file (a Java-style PEM key store) |
pub struct Pki {
    dir: TempDir,
    ca: TestCa,
    server: Issued,
    client: Issued,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Pki {
    /// Generates the set, the server certificates naming `server_names`.
    pub fn generate(server_names: &[&str]) -> Pki {
        let dir = TempDir::new("pki");
        let ca = TestCa::new("ferrokafka test CA");
        dir.write("ca.pem", ca.pem());
        dir.write("other-ca.pem", TestCa::new("some other CA").pem());
        let server = ca.server(server_names);
        dir.write("server.pem", &server.cert_pem);
        dir.write("server.key", &server.key_pem);
        let expired = ca.expired_server(server_names);
        dir.write("expired.pem", &expired.cert_pem);
        dir.write("expired.key", &expired.key_pem);
        let client = ca.client("ferrokafka-client");
        dir.write("client.pem", &client.cert_pem);
        dir.write("client.key", &client.key_pem);
        dir.write(
            "client-keystore.pem",
            format!("{}{}", client.cert_pem, client.key_pem),
        );
        Pki {
            dir,
            ca,
            server,
            client,
        }
    }

    /// The path of a file of the set (or of any other file in its
    /// directory), as configuration values want it.
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &TempDir {
        &self.dir
    }

    /// The CA, to issue more certificates.
    pub fn ca(&self) -> &TestCa {
        &self.ca
    }

    /// The server certificate and key.
    pub fn server(&self) -> &Issued {
        &self.server
    }

    /// The client certificate and key.
    pub fn client(&self) -> &Issued {
        &self.client
    }

    /// Java-style PKCS#12 stores under `password`, as keytool makes them:
    /// `truststore.p12` holding the CA as a trusted certificate and
    /// `keystore.p12` holding the client's chain and key. Returns their
    /// paths (trust store first).
    pub fn java_stores(&self, password: &str) -> (String, String) {
        use rustls_pki_types::pem::PemObject as _;
        let (truststore, keystore) = (self.path("truststore.p12"), self.path("keystore.p12"));
        // keytool marks trust-store certificates with Oracle's
        // trusted-usage attribute; openssl 3.0 cannot, so this store is
        // written in Rust.
        let ca = rustls_pki_types::CertificateDer::from_pem_slice(self.ca.pem().as_bytes())
            .expect("the test CA is PEM");
        let mut trust = p12_keystore::KeyStore::new();
        trust.add_entry(
            "ca",
            p12_keystore::KeyStoreEntry::Certificate(
                p12_keystore::Certificate::from_der(ca.as_ref()).expect("the test CA is DER"),
            ),
        );
        let bytes = trust
            .writer(password)
            .write()
            .expect("a PKCS#12 trust store");
        std::fs::write(&truststore, bytes).expect("write truststore.p12");
        let pass = format!("pass:{password}");
        openssl(&[
            "pkcs12",
            "-export",
            "-in",
            &self.path("client.pem"),
            "-inkey",
            &self.path("client.key"),
            "-out",
            &keystore,
            "-passout",
            &pass,
        ]);
        (truststore, keystore)
    }
}

/// Runs `openssl` with `args` (its output discarded).
///
/// # Panics
/// When openssl is missing (the message says how to install it) or fails.
pub fn openssl(args: &[&str]) {
    let status = std::process::Command::new("openssl")
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl is installed (apt-get install -y openssl)");
    assert!(status.success(), "openssl {args:?}");
}

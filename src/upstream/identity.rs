//! Identity forwarding: a client certificate that the gateway verified is presented to the
//! backend again, as a short-lived certificate with the same subject and subject alternative
//! names, signed by an identity CA that the backends trust. The minted certificate's issuer is
//! the name of the CA that issued the client's certificate (auto-generated identity CAs carry the
//! names of the CAs in the gateway's `ssl-ca`, one each), so a backend's `REQUIRE X509`,
//! `SUBJECT`, `ISSUER` and `SAN` hold exactly as they would for a direct connection.
//!
//! Minted certificates live [`MINTED_LIFETIME`] (never past the client certificate's own end)
//! and are kept per client certificate, so a client's later sessions present the same one.

use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use lru::LruCache;
use rcgen::string::{BmpString, Ia5String, PrintableString, TeletexString, UniversalString};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    PublicKeyData, SanType,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::OffsetDateTime;
use tlsql_tls_api::Identity;
use tlsql_tls_api::cert::{self, CertSummary};
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::X509Name;

use crate::files::{self, GROUP_READABLE_MODE, PRIVATE_MODE};

/// How long a minted certificate is valid.
pub const MINTED_LIFETIME: time::Duration = time::Duration::hours(1);

/// A minted certificate is replaced when less than this is left of it.
const RENEW_BEFORE: time::Duration = time::Duration::minutes(10);

/// Clock skew allowed between gateway and backends.
const BACKDATE: time::Duration = time::Duration::minutes(5);

/// Generated identity CAs are valid as long as auto-tls's CA.
const CA_VALIDITY: time::Duration = time::Duration::days(3650);

/// Client identities whose minted certificate is kept.
const CACHED_IDENTITIES: NonZeroUsize = NonZeroUsize::new(4096).unwrap();

/// File names under `<data-dir>/tls/`.
pub const GENERATED_CERT: &str = "identity-ca.pem";
/// The generated CAs' private keys, in the order of [`GENERATED_CERT`].
pub const GENERATED_KEY: &str = "identity-ca-key.pem";

/// One identity CA.
struct IdentityCa {
    /// Its subject as MySQL prints names (`/C=…/O=…/CN=…`): the issuer name it mints.
    name: String,
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

/// Where identity CAs come from.
enum Source {
    /// One configured CA signs every identity.
    Configured,
    /// One generated CA per CA name of the gateway's `ssl-ca`, persisted in these files and
    /// extended when a client certificate from a new CA arrives.
    Generated { cert: PathBuf, key: PathBuf },
}

/// The identity CAs and the certificates minted from them.
pub struct IdentityAuthority {
    source: Source,
    cas: Mutex<Vec<Arc<IdentityCa>>>,
    minted: Mutex<LruCache<Vec<u8>, Arc<Identity>>>,
}

impl IdentityAuthority {
    /// Uses the configured CA certificate and key for every identity.
    pub fn configured(cert_path: &Path, key_path: &Path) -> Result<Self, String> {
        let certs = cert::read_certificates(cert_path).map_err(|e| e.to_string())?;
        let der = certs
            .into_iter()
            .next()
            .ok_or_else(|| format!("{}: no certificate", cert_path.display()))?;
        let key = cert::read_private_key(key_path).map_err(|e| e.to_string())?;
        let ca = IdentityCa::from_parts(der, key.secret_der().to_vec())
            .map_err(|e| format!("{}: {e}", cert_path.display()))?;
        Ok(Self {
            source: Source::Configured,
            cas: Mutex::new(vec![Arc::new(ca)]),
            minted: Mutex::new(LruCache::new(CACHED_IDENTITIES)),
        })
    }

    /// Loads the generated identity CAs from `dir` (creating the files when missing) and makes
    /// sure one exists for every CA in `client_cas` (the gateway's `ssl-ca`). Returns the
    /// authority and whether a CA was added (backends must then be given the file again).
    pub fn generated(
        dir: &Path,
        client_cas: &[CertificateDer<'_>],
    ) -> Result<(Self, bool), String> {
        // The directory exists with auto-tls; with configured certificates it may not yet.
        files::private_subdir(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let cert = dir.join(GENERATED_CERT);
        let key = dir.join(GENERATED_KEY);
        let mut cas = Vec::new();
        if cert.exists() || key.exists() {
            let certs = cert::read_certificates(&cert).map_err(|e| e.to_string())?;
            let keys: Vec<Vec<u8>> = PrivateKeyDer::pem_file_iter(&key)
                .map_err(|e| format!("{}: {e}", key.display()))?
                .map(|k| k.map(|k| k.secret_der().to_vec()))
                .collect::<Result<_, _>>()
                .map_err(|e| format!("{}: {e}", key.display()))?;
            if certs.len() != keys.len() {
                return Err(format!(
                    "{} holds {} certificates but {} holds {} keys; remove both to generate new identity CAs",
                    cert.display(),
                    certs.len(),
                    key.display(),
                    keys.len()
                ));
            }
            for (der, key_der) in certs.into_iter().zip(keys) {
                let ca = IdentityCa::from_parts(der, key_der)
                    .map_err(|e| format!("{}: {e}", cert.display()))?;
                cas.push(Arc::new(ca));
            }
        }
        let authority = Self {
            source: Source::Generated { cert, key },
            cas: Mutex::new(cas),
            minted: Mutex::new(LruCache::new(CACHED_IDENTITIES)),
        };
        let mut added = false;
        for ca in client_cas {
            let parsed = X509Certificate::from_der(ca)
                .map_err(|e| format!("a CA certificate of ssl-ca cannot be parsed: {e}"))?
                .1;
            added |= authority.ca_named(parsed.subject())?.1;
        }
        Ok((authority, added))
    }

    /// The file backends add to their `ssl-ca`.
    pub fn bundle_path(&self) -> Option<&Path> {
        match &self.source {
            Source::Generated { cert, .. } => Some(cert),
            Source::Configured => None,
        }
    }

    /// The names the identity CAs carry.
    pub fn names(&self) -> Vec<String> {
        self.lock_cas().iter().map(|c| c.name.clone()).collect()
    }

    fn lock_cas(&self) -> std::sync::MutexGuard<'_, Vec<Arc<IdentityCa>>> {
        self.cas.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The identity CA whose name is `name`, generated (and persisted) when missing; the
    /// configured CA whatever the name. Also says whether one was generated.
    fn ca_named(&self, name: &X509Name<'_>) -> Result<(Arc<IdentityCa>, bool), String> {
        let wanted = cert::oneline(name);
        let mut cas = self.lock_cas();
        let Source::Generated { cert, key } = &self.source else {
            return cas
                .first()
                .cloned()
                .map(|c| (c, false))
                .ok_or_else(|| "no identity CA".to_string());
        };
        if let Some(ca) = cas.iter().find(|c| c.name == wanted) {
            return Ok((Arc::clone(ca), false));
        }
        let ca = Arc::new(IdentityCa::generate(name)?);
        let mut all = cas.clone();
        all.push(Arc::clone(&ca));
        let certs: String = all
            .iter()
            .map(|c| pem_block("CERTIFICATE", &c.der))
            .collect();
        let keys: String = all
            .iter()
            .map(|c| pem_block("PRIVATE KEY", &c.key_der))
            .collect();
        // The key first: a certificate without its key would make the next start fail.
        files::write_atomic(key, keys.as_bytes(), PRIVATE_MODE)
            .map_err(|e| format!("cannot write {}: {e}", key.display()))?;
        files::write_atomic(cert, certs.as_bytes(), GROUP_READABLE_MODE)
            .map_err(|e| format!("cannot write {}: {e}", cert.display()))?;
        log::warn!(
            "gateway: generated an identity CA named '{wanted}' in {}; every backend must have this file in its ssl-ca for forwarded client certificates to verify",
            cert.display()
        );
        *cas = all;
        Ok((ca, true))
    }

    /// The certificate to present to a backend for a client whose verified leaf certificate is
    /// `client_leaf`: cached while more than a few minutes of it are left.
    pub fn identity_for(&self, client_leaf: &[u8]) -> Result<Arc<Identity>, String> {
        let now = OffsetDateTime::now_utc();
        if let Some(found) = self
            .minted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(client_leaf)
            && found.leaf.not_after - now > RENEW_BEFORE
        {
            return Ok(Arc::clone(found));
        }
        let minted = Arc::new(self.mint(client_leaf, now)?);
        self.minted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .put(client_leaf.to_vec(), Arc::clone(&minted));
        Ok(minted)
    }

    fn mint(&self, client_leaf: &[u8], now: OffsetDateTime) -> Result<Identity, String> {
        let (_, client) = X509Certificate::from_der(client_leaf)
            .map_err(|e| format!("the client certificate cannot be parsed: {e}"))?;
        let (ca, _) = self.ca_named(client.issuer())?;
        let mut params = CertificateParams::default();
        params.distinguished_name = distinguished_name(client.subject())?;
        params.subject_alt_names = subject_alt_names(&client)?;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(crate::tls::auto::random_serial());
        let client_end = client.validity().not_after.to_datetime();
        params.not_before = now.saturating_sub(BACKDATE);
        params.not_after = now.saturating_add(MINTED_LIFETIME).min(client_end);
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
            .map_err(|e| format!("cannot generate a key: {e}"))?;
        let leaf = params
            .signed_by(&key, &ca.issuer)
            .map_err(|e| format!("cannot sign the forwarded identity: {e}"))?;
        let der = leaf.der().clone();
        let summary = CertSummary::from_der(&der)?;
        Ok(Identity {
            chain: vec![der],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            cert_path: PathBuf::from("(minted by the gateway)"),
            key_path: PathBuf::from("(minted by the gateway)"),
            leaf: summary,
        })
    }
}

impl IdentityCa {
    fn from_parts(der: CertificateDer<'static>, key_der: Vec<u8>) -> Result<Self, String> {
        let key = KeyPair::try_from(key_der.as_slice())
            .map_err(|e| format!("the identity CA key cannot be used: {e}"))?;
        let (_, parsed) = X509Certificate::from_der(&der)
            .map_err(|e| format!("the identity CA certificate cannot be parsed: {e}"))?;
        if parsed.public_key().raw != key.subject_public_key_info().as_slice() {
            return Err("the identity CA key does not match its certificate".into());
        }
        let name = cert::oneline(parsed.subject());
        let issuer = Issuer::from_ca_cert_der(&der, key)
            .map_err(|e| format!("the identity CA certificate cannot be used: {e}"))?;
        Ok(Self {
            name,
            issuer,
            der,
            key_der,
        })
    }

    /// A new CA named `name`.
    fn generate(name: &X509Name<'_>) -> Result<Self, String> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
            .map_err(|e| format!("cannot generate a key: {e}"))?;
        let now = OffsetDateTime::now_utc();
        let mut params = CertificateParams::default();
        params.distinguished_name = distinguished_name(name)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.serial_number = Some(crate::tls::auto::random_serial());
        params.not_before = now.saturating_sub(BACKDATE);
        params.not_after = now.saturating_add(CA_VALIDITY);
        let cert = params
            .self_signed(&key)
            .map_err(|e| format!("cannot create the identity CA: {e}"))?;
        let key_der = key.serialize_der();
        Self::from_parts(cert.der().clone(), key_der)
    }
}

fn pem_block(label: &str, der: &[u8]) -> String {
    pem::encode(&pem::Pem::new(label, der))
}

/// An X.509 name in rcgen's form, attribute by attribute in the same order and string types.
fn distinguished_name(name: &X509Name<'_>) -> Result<DistinguishedName, String> {
    let mut dn = DistinguishedName::new();
    for rdn in name.iter() {
        let mut attributes = rdn.iter();
        let (Some(attribute), None) = (attributes.next(), attributes.next()) else {
            return Err("names with multi-valued components cannot be forwarded".into());
        };
        let oid: Vec<u64> = attribute
            .attr_type()
            .iter()
            .ok_or("a name attribute has an unusable type")?
            .collect();
        let value = attribute.attr_value();
        let data = value.data;
        let text =
            || std::str::from_utf8(data).map_err(|_| "a name attribute is not text".to_string());
        let bad = |e: rcgen::Error| format!("a name attribute cannot be copied: {e}");
        let value = match value.header.tag() {
            Tag::Utf8String => DnValue::Utf8String(text()?.to_string()),
            Tag::PrintableString => {
                DnValue::PrintableString(PrintableString::try_from(text()?).map_err(bad)?)
            }
            Tag::Ia5String => DnValue::Ia5String(Ia5String::try_from(text()?).map_err(bad)?),
            Tag::T61String => {
                DnValue::TeletexString(TeletexString::try_from(text()?).map_err(bad)?)
            }
            Tag::BmpString => {
                DnValue::BmpString(BmpString::from_utf16be(data.to_vec()).map_err(bad)?)
            }
            Tag::UniversalString => {
                DnValue::UniversalString(UniversalString::from_utf32be(data.to_vec()).map_err(bad)?)
            }
            other => {
                return Err(format!(
                    "a name attribute has an unusable string type {other}"
                ));
            }
        };
        dn.push(DnType::from_oid(&oid), value);
    }
    Ok(dn)
}

/// The subject alternative names of the kinds `REQUIRE SAN` (and TiDB) can check.
fn subject_alt_names(cert: &X509Certificate<'_>) -> Result<Vec<SanType>, String> {
    let Ok(Some(ext)) = cert.subject_alternative_name() else {
        return Ok(Vec::new());
    };
    let bad = |e: rcgen::Error| format!("a subject alternative name cannot be copied: {e}");
    let mut out = Vec::new();
    for name in &ext.value.general_names {
        match name {
            GeneralName::DNSName(s) => {
                out.push(SanType::DnsName(Ia5String::try_from(*s).map_err(bad)?));
            }
            GeneralName::URI(s) => out.push(SanType::URI(Ia5String::try_from(*s).map_err(bad)?)),
            GeneralName::RFC822Name(s) => {
                out.push(SanType::Rfc822Name(Ia5String::try_from(*s).map_err(bad)?));
            }
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => out.push(SanType::IpAddress(IpAddr::from(
                    <[u8; 4]>::try_from(*bytes).unwrap_or_default(),
                ))),
                16 => out.push(SanType::IpAddress(IpAddr::from(
                    <[u8; 16]>::try_from(*bytes).unwrap_or_default(),
                ))),
                _ => return Err("an IP subject alternative name of unusual length".into()),
            },
            other => {
                log::debug!("gateway: a subject alternative name is not forwarded: {other:?}");
            }
        }
    }
    Ok(out)
}

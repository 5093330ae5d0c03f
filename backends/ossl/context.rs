//! The server context.

use std::fmt;
use std::sync::Arc;

use tlsql_tls_api::failure::Peer;
use tlsql_tls_api::group;
use tlsql_tls_api::resumption::Counters;
use tlsql_tls_api::{
    ClientCa, KxGroup, SessionStats, TlsContext, TlsError, TlsSettings, TlsStream, TlsVersion,
    Transport,
};

use crate::NAME;
use crate::common::{self, Stream, library};
use crate::lib::error::ErrorStack;
use crate::lib::ssl::{
    Ssl, SslContext, SslContextBuilder, SslMode, SslOptions, SslSessionCacheMode, SslVerifyMode,
};
use crate::shim::{self, LIBRARY, OfferHook};

/// Builds a server context from `settings`.
///
/// Fails with [`TlsError::UnknownCipher`] for a name no library knows,
/// [`TlsError::Unsupported`] for what [`crate::CAPABILITIES`] says the library cannot do,
/// [`TlsError::KeyMismatch`] when the key does not belong to the leaf certificate,
/// [`TlsError::BadFile`] for a certificate or key the library refuses, and
/// [`TlsError::Library`] when no cipher suite is left for any allowed version or the library
/// rejects the configuration otherwise.
pub fn build(settings: &TlsSettings) -> Result<Arc<dyn TlsContext>, TlsError> {
    let suites = settings.effective_ciphers()?;
    shim::refuse(settings)?;
    let versions = settings.allowed_versions(NAME, &suites)?;
    let mut builder = shim::server_builder().map_err(library)?;
    common::set_versions(&mut builder, &versions)?;
    shim::set_ciphers(&mut builder, &suites)?;
    let groups = group::configure(NAME, &settings.groups, settings.groups_strict, |list| {
        shim::set_groups(&mut builder, list)
    })?;
    common::set_identity(&mut builder, &settings.identity)?;
    set_client_verification(&mut builder, settings.client_ca.as_ref())?;
    set_resumption(&mut builder, settings.session_cache)?;
    shim::set_session_timeout(&mut builder, settings.session_timeout);
    let offers = OfferHook::install(&mut builder).map_err(library)?;
    // The record buffers are freed whenever they are empty: an idle session keeps none.
    // BoringSSL always does this; OpenSSL only when asked.
    builder.set_mode(SslMode::RELEASE_BUFFERS);
    // OpenSSL reads a record's 5-byte header and then its body, two reads (and two waits for
    // the socket) per record; reading ahead takes whatever has arrived at once. Every byte
    // after the SSLRequest is TLS, so nothing else can be read by mistake, and a session's
    // idle wait goes through `SSL_read`, which uses what was read ahead first. BoringSSL
    // ignores the call.
    builder.set_read_ahead(true);
    Ok(Arc::new(Context {
        ctx: builder.build(),
        offers,
        cipher_names: suites.iter().map(|s| s.openssl.to_string()).collect(),
        versions,
        groups,
        verifies_clients: settings.client_ca.is_some(),
        counters: Counters::default(),
    }))
}

/// Requests a client certificate and verifies the one presented; none is fine (MySQL's
/// `Ssl_verify_mode` 5).
fn set_client_verification(
    builder: &mut SslContextBuilder,
    ca: Option<&ClientCa>,
) -> Result<(), TlsError> {
    let Some(ca) = ca else {
        builder.set_verify(SslVerifyMode::NONE);
        return Ok(());
    };
    let bad_ca = |e: ErrorStack| TlsError::BadFile {
        path: ca.path.clone(),
        reason: format!(
            "{LIBRARY} cannot use the CA certificate: {}",
            shim::describe(&e)
        ),
    };
    for cert in common::trust(builder, &ca.certs, bad_ca)? {
        // Also named in the certificate request as an acceptable issuer.
        builder.add_client_ca(&cert).map_err(bad_ca)?;
    }
    builder.set_verify(shim::VERIFY_CLIENTS);
    Ok(())
}

fn set_resumption(builder: &mut SslContextBuilder, enabled: bool) -> Result<(), TlsError> {
    // A random session-id context per context: OpenSSL refuses to resume without one when
    // client certificates are requested, and sessions (ids and tickets) of any other context
    // carry a different one and are never resumed here. Ticket keys are per context already.
    let mut sid_ctx = [0; 32];
    crate::lib::rand::rand_bytes(&mut sid_ctx).map_err(library)?;
    builder.set_session_id_context(&sid_ctx).map_err(library)?;
    if enabled {
        builder.set_session_cache_mode(SslSessionCacheMode::SERVER);
    } else {
        builder.set_session_cache_mode(SslSessionCacheMode::OFF);
        builder.set_options(SslOptions::NO_TICKET);
        shim::no_tls13_tickets(builder).map_err(library)?;
    }
    Ok(())
}

/// A built server context: shared by every connection it accepts, one per configuration.
struct Context {
    ctx: SslContext,
    offers: OfferHook,
    cipher_names: Vec<String>,
    versions: Vec<TlsVersion>,
    groups: Vec<&'static KxGroup>,
    verifies_clients: bool,
    counters: Counters,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("backend", &NAME)
            .field("cipher_names", &self.cipher_names)
            .field("versions", &self.versions)
            .field("groups", &self.groups)
            .field("verifies_clients", &self.verifies_clients)
            .finish_non_exhaustive()
    }
}

impl TlsContext for Context {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn accept(&self, io: Box<dyn Transport>) -> Result<Box<dyn TlsStream>, TlsError> {
        let ssl = Ssl::new(&self.ctx).map_err(library)?;
        match ssl.accept(shim::server_io(io)) {
            Ok(mut stream) => {
                let offer = self.offers.offer(&mut stream);
                let info = common::report(stream.ssl(), true)?;
                self.counters
                    .count(info.resumed, offer.asks_resumption(info.version));
                Ok(Box::new(Stream {
                    inner: stream,
                    info,
                }))
            }
            Err(e) => Err(common::handshake_error(
                e,
                Peer::Client,
                self.verifies_clients,
                None,
                &self.versions,
            )),
        }
    }

    fn cipher_names(&self) -> Vec<String> {
        self.cipher_names.clone()
    }

    fn versions(&self) -> Vec<TlsVersion> {
        self.versions.clone()
    }

    fn groups(&self) -> Vec<&'static KxGroup> {
        self.groups.clone()
    }

    fn verifies_clients(&self) -> bool {
        self.verifies_clients
    }

    fn session_stats(&self) -> SessionStats {
        self.counters.snapshot()
    }
}

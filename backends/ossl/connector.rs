//! The client side: a connector that reaches TLS servers with a per-identity context.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tlsql_tls_api::cipher::CipherSuite;
use tlsql_tls_api::connector::{IdentityCache, SessionCache};
use tlsql_tls_api::failure::{self, Peer};
use tlsql_tls_api::group;
use tlsql_tls_api::resumption::Counters;
use tlsql_tls_api::{
    ConnectorSettings, Identity, KxGroup, ServerVerify, SessionStats, TlsConnector, TlsError,
    TlsStream, TlsVersion, Transport,
};

use crate::NAME;
use crate::common::{self, Stream, library};
use crate::lib::ex_data::Index;
use crate::lib::ssl::{
    Ssl, SslContext, SslOptions, SslSession, SslSessionCacheMode, SslVerifyMode,
};
use crate::shim;

/// Builds a connector from `settings`.
///
/// Fails with [`TlsError::ClientSettings`] when verification has no roots or no suite is
/// left, [`TlsError::UnknownCipher`] and [`TlsError::Unsupported`] as [`crate::build`] does,
/// and [`TlsError::BadFile`] for a root the library refuses.
pub fn build_connector(settings: &ConnectorSettings) -> Result<Arc<dyn TlsConnector>, TlsError> {
    let (suites, versions) = settings.effective(NAME)?;
    shim::refuse_offer(&suites)?;
    let server_name = Ssl::new_ex_index().map_err(library)?;
    let shared = Shared {
        settings: settings.clone(),
        suites,
        versions,
        groups: Vec::new(),
        server_name,
    };
    // The anonymous context also tells which of the groups the library has.
    let (anonymous, groups) = PerIdentity::new(&shared, None)?;
    Ok(Arc::new(Connector {
        shared: Shared { groups, ..shared },
        identities: IdentityCache::new(anonymous),
        counters: Counters::default(),
    }))
}

/// What every per-identity context is built from.
struct Shared {
    settings: ConnectorSettings,
    suites: Vec<&'static CipherSuite>,
    versions: Vec<TlsVersion>,
    groups: Vec<&'static KxGroup>,
    /// Where each connection keeps the server name its session is filed under.
    server_name: Index<Ssl, String>,
}

/// A context presenting one client identity (or none), and the sessions made with it.
struct PerIdentity {
    ctx: SslContext,
    sessions: Arc<SessionCache<String, SslSession>>,
}

impl PerIdentity {
    fn new(
        shared: &Shared,
        identity: Option<&Identity>,
    ) -> Result<(Self, Vec<&'static KxGroup>), TlsError> {
        let settings = &shared.settings;
        let mut builder = shim::client_builder().map_err(library)?;
        common::set_versions(&mut builder, &shared.versions)?;
        shim::set_ciphers(&mut builder, &shared.suites)?;
        shim::prefer_tls13(&mut builder, &shared.suites)?;
        let groups = group::configure(NAME, &settings.groups, false, |list| {
            shim::set_groups(&mut builder, list)
        })?;
        match settings.verify {
            ServerVerify::None => builder.set_verify(SslVerifyMode::NONE),
            ServerVerify::Ca | ServerVerify::Identity => {
                common::trust(&mut builder, &settings.roots, |e| TlsError::BadFile {
                    path: "(roots)".into(),
                    reason: format!("{NAME} cannot use a root certificate: {e}"),
                })?;
                builder.set_verify(SslVerifyMode::PEER);
            }
        }
        if let Some(identity) = identity {
            common::set_identity(&mut builder, identity)?;
        }
        let sessions = Arc::new(SessionCache::new());
        if settings.session_cache {
            builder.set_session_cache_mode(SslSessionCacheMode::CLIENT);
            // TLS 1.3 tickets arrive after the handshake: the library hands each to this
            // callback, filed under the server name the connection was made to.
            let store = sessions.clone();
            let index = shared.server_name;
            builder.set_new_session_callback(move |ssl, session| {
                if let Some(name) = ssl.ex_data(index) {
                    store.put(name.clone(), session);
                }
            });
        } else {
            builder.set_session_cache_mode(SslSessionCacheMode::OFF);
            builder.set_options(SslOptions::NO_TICKET);
        }
        Ok((
            Self {
                ctx: builder.build(),
                sessions,
            },
            groups,
        ))
    }
}

struct Connector {
    shared: Shared,
    identities: IdentityCache<PerIdentity>,
    counters: Counters,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("backend", &NAME)
            .field("verify", &self.shared.settings.verify)
            .field("versions", &self.shared.versions)
            .field("groups", &self.shared.groups)
            .field("identities", &self.identities)
            .finish_non_exhaustive()
    }
}

impl Connector {
    /// Offers the session kept for `name`; whether there was one.
    #[allow(unsafe_code)]
    fn offer_session(&self, ssl: &mut Ssl, per: &PerIdentity, name: &str) -> bool {
        let Some(session) = per.sessions.get(&name.to_string()) else {
            return false;
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if !shim::still_offered(&session, now) {
            // The library would leave it out of the ClientHello: not an offer.
            return false;
        }
        // SAFETY: the library requires a session made under the same context as `ssl`; every
        // session in `per.sessions` was handed out by `per.ctx`'s new-session callback.
        unsafe { ssl.set_session(&session) }.is_ok()
    }
}

impl TlsConnector for Connector {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn connect(
        &self,
        io: Box<dyn Transport>,
        server_name: &str,
        client: Option<&Arc<Identity>>,
    ) -> Result<Box<dyn TlsStream>, TlsError> {
        let per = self.identities.get(client, |identity| {
            PerIdentity::new(&self.shared, Some(identity)).map(|(per, _)| per)
        })?;
        let mut ssl = Ssl::new(&per.ctx).map_err(library)?;
        let verify_name = self.shared.settings.verify == ServerVerify::Identity;
        match failure::ip_address(server_name) {
            Some(ip) if verify_name => ssl.param_mut().set_ip(ip).map_err(library)?,
            Some(_) => {}
            None => {
                // SNI names DNS hosts only (RFC 6066 §3).
                ssl.set_hostname(server_name).map_err(library)?;
                if verify_name {
                    ssl.param_mut().set_host(server_name).map_err(library)?;
                }
            }
        }
        let offered =
            self.shared.settings.session_cache && self.offer_session(&mut ssl, &per, server_name);
        ssl.set_ex_data(self.shared.server_name, server_name.to_string());
        match ssl.connect(shim::client_io(io)) {
            Ok(stream) => {
                let info = common::report(stream.ssl(), false)?;
                self.counters.count(info.resumed, offered);
                Ok(Box::new(Stream {
                    inner: stream,
                    info,
                }))
            }
            Err(e) => Err(common::handshake_error(
                e,
                Peer::Server,
                self.shared.settings.verify != ServerVerify::None,
                Some(server_name),
                &self.shared.versions,
            )),
        }
    }

    fn session_stats(&self) -> SessionStats {
        self.counters.snapshot()
    }
}

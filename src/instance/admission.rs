//! Admission: how many connections the server holds, and for whom.
//!
//! * `max-connections` regular slots. A connection takes one when it is accepted and keeps it
//!   until it closes, so stalled handshakes count (bounded in time by `connect-timeout`).
//! * One reserved slot, as in MySQL (`max_connections + 1`), held only by a session that has
//!   authenticated as an account with `SUPER` or `CONNECTION_ADMIN`.
//! * While every regular slot is taken, a new connection may still run its handshake as a
//!   *candidate*: it holds no slot, and at login it takes a regular slot if one has freed, the
//!   reserved one if its account may, or gets ERR 1040 (what MySQL does to the connection past
//!   `max_connections`). Were the reserved slot handed out at accept, one stalled handshake
//!   would keep it from the operator for a whole `connect-timeout`, again and again. Candidates
//!   are bounded ([`MAX_CANDIDATES`]) and one client address may run one at a time, so a client
//!   that stalls handshakes from one address cannot keep an operator elsewhere (or on the unix
//!   socket) from logging in; several admins racing for the reserved slot are served in the
//!   order they authenticate, the others get 1040.
//! * `max-connections-per-host` bounds what one IP address holds, pre-auth included. MariaDB
//!   and MySQL have no such limit (their nearest, `max_user_connections`, answers 1203 naming
//!   the user, unknown before the greeting); the refusal is ER_CON_COUNT_ERROR (1040) before the
//!   greeting, like a full server. The unix socket is not limited per host.
//!
//! A [`Ticket`] travels with the connection from admission to the session that serves it
//! (across threads when the session is parked and resumed) and gives its place back when
//! dropped, also when a session panics.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::net::Peer;

/// At most this many candidates (handshakes beyond `max-connections`) at a time: each holds a
/// worker thread for up to `connect-timeout`.
pub(crate) const MAX_CANDIDATES: u32 = 16;

/// Where a connection comes from, as admission counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Origin {
    Ip(IpAddr),
    Unix,
}

impl Origin {
    fn of(peer: &Peer) -> Self {
        match peer {
            Peer::Tcp(addr, _) => Origin::Ip(match addr.ip() {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
                ip => ip,
            }),
            Peer::Unix => Origin::Unix,
        }
    }
}

/// What one origin holds.
#[derive(Default)]
struct Held {
    connections: u32,
    candidates: u32,
}

#[derive(Default)]
struct State {
    regular: u32,
    reserved: bool,
    candidates: u32,
    origins: HashMap<Origin, Held>,
}

/// The server's admission state.
pub(crate) struct Admission {
    max_connections: u32,
    per_host: u32,
    state: Mutex<State>,
}

/// Why a connection was refused before the greeting.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Every slot is taken and no candidate may start from this origin.
    Full,
    /// The client's address holds `max-connections-per-host` connections.
    PerHost,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Regular,
    Candidate,
    Reserved,
    /// A candidate refused at login, closing.
    None,
}

/// One connection's place; given back on drop.
pub struct Ticket {
    admission: Arc<Admission>,
    origin: Origin,
    place: Place,
}

impl Admission {
    /// `per_host` 0 means no per-host limit.
    pub(crate) fn new(max_connections: u32, per_host: u32) -> Self {
        Self {
            max_connections,
            per_host,
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent after every statement: a panic elsewhere cannot break it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a new connection from `peer` may start its handshake, and in which place.
    pub(crate) fn admit(self: &Arc<Self>, peer: &Peer) -> Result<Ticket, Refused> {
        let origin = Origin::of(peer);
        let mut state = self.lock();
        let held = state.origins.get(&origin);
        let (connections, candidates) = held.map_or((0, 0), |h| (h.connections, h.candidates));
        if matches!(origin, Origin::Ip(_)) && self.per_host != 0 && connections >= self.per_host {
            return Err(Refused::PerHost);
        }
        let place = if state.regular < self.max_connections {
            state.regular += 1;
            Place::Regular
        } else if state.candidates < MAX_CANDIDATES && candidates == 0 {
            state.candidates += 1;
            Place::Candidate
        } else {
            return Err(Refused::Full);
        };
        let held = state.origins.entry(origin).or_default();
        held.connections += 1;
        if place == Place::Candidate {
            held.candidates += 1;
        }
        Ok(Ticket {
            admission: Arc::clone(self),
            origin,
            place,
        })
    }
}

impl Ticket {
    /// At login, once the account is known: whether the connection may become a session. A
    /// candidate takes a regular slot freed meanwhile, else the reserved slot if `admin`
    /// (`SUPER` or `CONNECTION_ADMIN`) and it is free; otherwise it is refused (ERR 1040).
    pub fn confirm(&mut self, admin: bool) -> bool {
        if self.place != Place::Candidate {
            return self.place != Place::None;
        }
        let admission = &self.admission;
        let mut state = admission.lock();
        state.candidates -= 1;
        if let Some(held) = state.origins.get_mut(&self.origin) {
            held.candidates -= 1;
        }
        self.place = if state.regular < admission.max_connections {
            state.regular += 1;
            Place::Regular
        } else if admin && !state.reserved {
            state.reserved = true;
            Place::Reserved
        } else {
            Place::None
        };
        self.place != Place::None
    }

    /// Whether this connection holds the reserved slot.
    pub fn is_reserved(&self) -> bool {
        self.place == Place::Reserved
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = self.admission.lock();
        match self.place {
            Place::Regular => state.regular -= 1,
            Place::Candidate => state.candidates -= 1,
            Place::Reserved => state.reserved = false,
            Place::None => {}
        }
        if let Some(held) = state.origins.get_mut(&self.origin) {
            held.connections -= 1;
            if self.place == Place::Candidate {
                held.candidates -= 1;
            }
            if held.connections == 0 {
                state.origins.remove(&self.origin);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(ip: &str) -> Peer {
        Peer::tcp(std::net::SocketAddr::new(ip.parse().unwrap(), 40000))
    }

    fn counts(a: &Admission) -> (u32, bool, u32, usize) {
        let s = a.lock();
        (s.regular, s.reserved, s.candidates, s.origins.len())
    }

    #[test]
    fn the_reserved_slot_goes_to_the_first_admin_that_authenticates() {
        let a = Arc::new(Admission::new(1, 0));
        let held = a.admit(&tcp("10.0.0.1")).unwrap();
        // Two candidates from different addresses race; both admins.
        let mut first = a.admit(&tcp("10.0.0.2")).unwrap();
        let mut second = a.admit(&tcp("10.0.0.3")).unwrap();
        assert!(first.confirm(true) && first.is_reserved());
        assert!(!second.confirm(true), "the reserved slot is taken");
        drop(second);
        // A non-admin candidate is refused at login, even with the reserved slot free.
        drop(first);
        let mut app = a.admit(&tcp("10.0.0.2")).unwrap();
        assert!(!app.confirm(false));
        drop(app);
        // A regular slot freed during the handshake goes to the candidate.
        let mut late = a.admit(&tcp("10.0.0.2")).unwrap();
        drop(held);
        assert!(late.confirm(false) && !late.is_reserved());
        drop(late);
        assert_eq!(counts(&a), (0, false, 0, 0));
    }

    #[test]
    fn one_candidate_per_address() {
        let a = Arc::new(Admission::new(1, 0));
        let _held = a.admit(&tcp("10.0.0.1")).unwrap();
        let _stalled = a.admit(&tcp("10.0.0.1")).unwrap();
        assert_eq!(a.admit(&tcp("10.0.0.1")).err(), Some(Refused::Full));
        // IPv4-mapped IPv6 is the same client.
        assert_eq!(a.admit(&tcp("::ffff:10.0.0.1")).err(), Some(Refused::Full));
        let mut other = a.admit(&tcp("10.0.0.2")).unwrap();
        assert!(other.confirm(true));
        let _unix = a.admit(&Peer::Unix).unwrap();
    }

    #[test]
    fn candidates_are_bounded() {
        let a = Arc::new(Admission::new(1, 0));
        let _held = a.admit(&tcp("10.0.0.1")).unwrap();
        let candidates: Vec<_> = (0..MAX_CANDIDATES)
            .map(|i| a.admit(&tcp(&format!("10.1.0.{i}"))).unwrap())
            .collect();
        assert_eq!(a.admit(&tcp("10.2.0.1")).err(), Some(Refused::Full));
        drop(candidates);
        assert!(a.admit(&tcp("10.2.0.1")).is_ok());
    }

    #[test]
    fn per_host_counts_every_connection_of_an_address_but_not_the_unix_socket() {
        let a = Arc::new(Admission::new(10, 2));
        let one = a.admit(&tcp("127.0.0.1")).unwrap();
        let _two = a.admit(&tcp("127.0.0.1")).unwrap();
        assert_eq!(a.admit(&tcp("127.0.0.1")).err(), Some(Refused::PerHost));
        let _elsewhere = a.admit(&tcp("127.0.0.2")).unwrap();
        let unix: Vec<_> = (0..3).map(|_| a.admit(&Peer::Unix).unwrap()).collect();
        drop(one);
        let _again = a.admit(&tcp("127.0.0.1")).unwrap();
        drop(unix);
    }
}

//! Which address a request came from when the server sits behind a load
//! balancer or reverse proxy.
//!
//! Behind a proxy every TCP peer is the proxy: IP auto-block would block the
//! proxy (everyone), and the phone would show the proxy's address as the
//! sign-in's origin. The operator lists the proxies it runs
//! (`--trusted-proxy CIDR`); only for a request whose TCP peer is one of
//! them is `X-Forwarded-For` read, right to left, skipping trusted hops: the
//! first untrusted address is the client. Anything a client writes into the
//! header further left is never believed, and with no trusted proxies
//! configured (the default) the header is ignored entirely.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The header proxies append the address they received a request from to.
const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// From networks (a single address is a /32 or /128 network).
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self(nets)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request from `peer` with `headers`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        // Several header lines are one list, in order.
        let hops = headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect::<Vec<_>>();
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                // Unreadable: nothing left of it can be trusted either.
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` element: an IPv4 or IPv6 address, optionally with a
/// port (`1.2.3.4:5678`, `[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sa) = hop.parse::<std::net::SocketAddr>() {
        return Some(sa.ip().to_canonical());
    }
    let inner = hop.strip_prefix('[')?.strip_suffix(']')?;
    inner.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// Parses `--trusted-proxy`: a network in CIDR notation or a single address.
pub fn parse_trusted_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("{text:?} is not an IP address or a CIDR network (10.0.0.0/8)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(X_FORWARDED_FOR, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(
            list.iter()
                .map(|s| parse_trusted_proxy(s).unwrap())
                .collect(),
        )
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let t = TrustedProxies::default();
        let h = headers(&["203.0.113.9"]);
        assert_eq!(t.client_ip(ip("10.0.0.2"), &h), ip("10.0.0.2"));
    }

    #[test]
    fn an_untrusted_peer_cannot_claim_another_address() {
        let t = proxies(&["10.0.0.0/8"]);
        let h = headers(&["10.0.0.7"]);
        assert_eq!(t.client_ip(ip("198.51.100.4"), &h), ip("198.51.100.4"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let t = proxies(&["10.0.0.0/8", "192.0.2.1"]);
        // The client made up "1.1.1.1"; the edge proxy appended its real
        // address; an inner proxy (10.0.0.3) appended the edge's.
        let h = headers(&["1.1.1.1, 203.0.113.9", "192.0.2.1"]);
        assert_eq!(t.client_ip(ip("10.0.0.3"), &h), ip("203.0.113.9"));
        // IPv4-mapped peers and ports are understood.
        let h = headers(&["[2001:db8::5]:443"]);
        assert_eq!(t.client_ip(ip("::ffff:10.1.2.3"), &h), ip("2001:db8::5"));
        let h = headers(&["203.0.113.9:5678"]);
        assert_eq!(t.client_ip(ip("10.0.0.3"), &h), ip("203.0.113.9"));
    }

    #[test]
    fn garbage_stops_the_walk_at_the_last_readable_hop() {
        let t = proxies(&["10.0.0.0/8"]);
        let h = headers(&["203.0.113.9, not-an-ip, 10.0.0.4"]);
        assert_eq!(t.client_ip(ip("10.0.0.3"), &h), ip("10.0.0.4"));
        // No header at all: the proxy itself.
        assert_eq!(
            t.client_ip(ip("10.0.0.3"), &HeaderMap::new()),
            ip("10.0.0.3")
        );
        // Every hop trusted: the leftmost one.
        let h = headers(&["10.0.0.9, 10.0.0.4"]);
        assert_eq!(t.client_ip(ip("10.0.0.3"), &h), ip("10.0.0.9"));
    }

    #[test]
    fn proxies_parse_as_networks_or_addresses() {
        assert_eq!(
            parse_trusted_proxy("10.1.2.3/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(parse_trusted_proxy("::1").unwrap().to_string(), "::1/128");
        assert_eq!(
            parse_trusted_proxy(" 127.0.0.1 ").unwrap().to_string(),
            "127.0.0.1/32"
        );
        assert!(parse_trusted_proxy("10.0.0.0/33").is_err());
        assert!(parse_trusted_proxy("proxy.lan").is_err());
    }
}

//! Sync rules shared by the sync screen and the terminal's enrolment: what a hub address may
//! look like. The UI shows these messages beside the field; the backend refuses the same
//! addresses with the same words, so the two can never disagree.

/// Why a hub address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HubUrlError {
    #[error("集約サーバのアドレスを入力してください")]
    Empty,
    /// Plain `http://` (or anything else) would send records and the one-time code unencrypted.
    #[error("https:// で始まるアドレスを入力してください")]
    NotHttps,
    #[error("アドレスにホスト名がありません（例: https://hub.example.lg.jp:8443）")]
    NoHost,
    #[error("ホスト名に使えない文字があります（英数字・ハイフン・ピリオドのみ）")]
    BadHost,
    #[error("ポート番号は1〜65535の数字で入力してください")]
    BadPort,
    /// A path, query, fragment, user name or space: the hub is addressed by host and port only.
    #[error("アドレスはホスト名とポート番号だけで入力してください（例: https://hub.example.lg.jp:8443）")]
    ExtraParts,
}

/// Checks a hub address: `https://HOST` or `https://HOST:PORT`, optionally with one trailing
/// `/`. HOST is a DNS name, an IPv4 address or a bracketed IPv6 address. The text is checked
/// as given (callers trim what the user typed); any space is refused, so what is stored is
/// exactly what was checked.
pub fn check_hub_url(url: &str) -> Result<(), HubUrlError> {
    if url.trim().is_empty() {
        return Err(HubUrlError::Empty);
    }
    let scheme_len = "https://".len();
    let rest = match (url.get(..scheme_len), url.get(scheme_len..)) {
        (Some(scheme), Some(rest)) if scheme.eq_ignore_ascii_case("https://") => rest,
        _ => return Err(HubUrlError::NotHttps),
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '@' | '\\'))
    {
        return Err(HubUrlError::ExtraParts);
    }
    let (host, port) = split_host_port(authority)?;
    check_host(host)?;
    match port {
        None => Ok(()),
        Some(p) => check_port(p),
    }
}

/// `HOST[:PORT]` with HOST possibly `[v6]`.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), HubUrlError> {
    if authority.is_empty() {
        return Err(HubUrlError::NoHost);
    }
    if let Some(v6) = authority.strip_prefix('[') {
        let Some((inside, after)) = v6.split_once(']') else {
            return Err(HubUrlError::BadHost);
        };
        if inside.is_empty()
            || !inside.contains(':')
            || !inside
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(HubUrlError::BadHost);
        }
        return match after {
            "" => Ok(("[v6]", None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok(("[v6]", Some(port))),
                None => Err(HubUrlError::ExtraParts),
            },
        };
    }
    match authority.split_once(':') {
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((authority, None)),
    }
}

fn check_host(host: &str) -> Result<(), HubUrlError> {
    if host == "[v6]" {
        return Ok(());
    }
    if host.is_empty() {
        return Err(HubUrlError::NoHost);
    }
    if host.len() > 253 {
        return Err(HubUrlError::BadHost);
    }
    // Each dot-separated label: 1–63 of [A-Za-z0-9-], not starting or ending with '-'.
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if host.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(HubUrlError::BadHost)
    }
}

fn check_port(port: &str) -> Result<(), HubUrlError> {
    if port.is_empty() || port.len() > 5 || !port.chars().all(|c| c.is_ascii_digit()) {
        return Err(HubUrlError::BadPort);
    }
    match port.parse::<u32>() {
        Ok(n) if (1..=65_535).contains(&n) => Ok(()),
        _ => Err(HubUrlError::BadPort),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_addresses_pass() {
        for url in [
            "https://hub.example.lg.jp:8443",
            "https://hub.example.lg.jp",
            "https://hub.example.lg.jp:8443/",
            "HTTPS://HUB01:443",
            "https://10.0.12.5:8443",
            "https://localhost:1",
            "https://[fd00::12]:8443",
            "https://[::1]",
        ] {
            assert_eq!(check_hub_url(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn empty_and_blank_are_empty() {
        assert_eq!(check_hub_url(""), Err(HubUrlError::Empty));
        assert_eq!(check_hub_url("   "), Err(HubUrlError::Empty));
    }

    #[test]
    fn only_https_is_accepted() {
        for url in [
            "http://hub.example.lg.jp:8443",
            "hub.example.lg.jp:8443",
            "ftp://hub",
            "https:/hub",
            "ｈｔｔｐｓ://hub",
        ] {
            assert_eq!(check_hub_url(url), Err(HubUrlError::NotHttps), "{url}");
        }
    }

    #[test]
    fn a_host_is_required_and_must_be_a_name_or_address() {
        assert_eq!(check_hub_url("https://"), Err(HubUrlError::NoHost));
        assert_eq!(check_hub_url("https://:8443"), Err(HubUrlError::NoHost));
        for url in [
            "https://hub_01:8443",
            "https://集約サーバ:8443",
            "https://-hub:8443",
            "https://hub..lg.jp",
            "https://[fd00::12",
            "https://[zz]:8443",
        ] {
            assert_eq!(check_hub_url(url), Err(HubUrlError::BadHost), "{url}");
        }
    }

    #[test]
    fn ports_are_1_to_65535() {
        for url in [
            "https://hub:0",
            "https://hub:65536",
            "https://hub:",
            "https://hub:84a3",
            "https://hub:8443:1",
            "https://hub:０８４４",
        ] {
            assert_eq!(check_hub_url(url), Err(HubUrlError::BadPort), "{url}");
        }
        assert_eq!(check_hub_url("https://hub:65535"), Ok(()));
    }

    #[test]
    fn paths_queries_users_and_spaces_are_refused() {
        for url in [
            "https://hub:8443/api",
            "https://hub:8443?x=1",
            "https://hub:8443#top",
            "https://user@hub:8443",
            " https://hub:8443",
            "https://hub :8443",
            "https://hub:8443//",
            "https://[::1]x",
        ] {
            assert!(check_hub_url(url).is_err(), "{url}");
        }
        assert_eq!(
            check_hub_url("https://hub:8443/api"),
            Err(HubUrlError::ExtraParts)
        );
    }

    #[test]
    fn messages_are_japanese() {
        assert_eq!(
            HubUrlError::NotHttps.to_string(),
            "https:// で始まるアドレスを入力してください"
        );
        assert!(HubUrlError::Empty.to_string().contains("入力してください"));
    }
}

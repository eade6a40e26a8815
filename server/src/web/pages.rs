//! The HTML of the web pages, built from plain values so it can be tested without a server.
//! Everything that came from an operator or a database is escaped.

/// What the room page shows of a room.
pub struct RoomPage<'a> {
    pub token: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub join_url: &'a str,
    pub active_users: i64,
}

/// One room in the index.
pub struct IndexEntry<'a> {
    pub token: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub active_users: i64,
}

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;\
padding:0 1rem;color:#222}h1{margin-bottom:.2rem}.url{font-family:monospace;word-break:break-all;\
background:#f3f3f3;padding:.6rem;border-radius:.3rem}img{width:16rem;height:16rem}\
li{margin:.6rem 0}.muted{color:#666}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>\n",
        escape(title)
    )
}

fn users(n: i64) -> String {
    if n == 1 {
        "1 active user".into()
    } else {
        format!("{n} active users")
    }
}

/// A room's page: its details, join URL and invite QR code.
pub fn room_page(room: &RoomPage<'_>) -> String {
    let description = room
        .description
        .map(|d| format!("<p>{}</p>", escape(d)))
        .unwrap_or_default();
    let body = format!(
        "<h1>{name}</h1><p class=\"muted\">{users}</p>{description}\
         <h2>Join</h2><p>In Session, choose <b>Join Community</b> and scan this code or paste \
         the URL below.</p>\
         <img src=\"invite.png\" alt=\"QR code of the join URL\">\
         <p class=\"url\"><a href=\"{url}\">{url}</a></p>\
         <p class=\"muted\"><a href=\"/\">All rooms</a></p>",
        name = escape(room.name),
        users = users(room.active_users),
        url = escape(room.join_url),
    );
    page(room.name, &body)
}

/// The list of public rooms, or how to create the first one.
pub fn index_page(rooms: &[IndexEntry<'_>]) -> String {
    if rooms.is_empty() {
        return page(
            "Session Community Server",
            "<h1>Session Community Server</h1><p>This server has no public rooms yet.</p>\
             <p>Its operator can create one with</p>\
             <p class=\"url\">sogs-admin room add lobby --name \"The Lobby\"</p>",
        );
    }
    let items: String = rooms
        .iter()
        .map(|r| {
            let description = r
                .description
                .map(|d| format!("<br>{}", escape(d)))
                .unwrap_or_default();
            format!(
                "<li><a href=\"/r/{token}/\">{name}</a> <span class=\"muted\">({users})</span>\
                 {description}</li>",
                token = escape(r.token),
                name = escape(r.name),
                users = users(r.active_users),
            )
        })
        .collect();
    page(
        "Session Community Server",
        &format!("<h1>Session Community Server</h1><ul>{items}</ul>"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_details_are_escaped_everywhere() {
        let html = room_page(&RoomPage {
            token: "lobby",
            name: "<script>alert(1)</script>",
            description: Some("\"quoted\" & 'single'"),
            join_url: "http://x/lobby?public_key=ab&x=\"><b>",
            active_users: 1,
        });
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&quot;quoted&quot; &amp; &#39;single&#39;"));
        assert!(html.contains("public_key=ab&amp;x=&quot;&gt;&lt;b&gt;"));
        assert!(html.contains("1 active user<"));
        assert!(html.contains("src=\"invite.png\""));
    }

    #[test]
    fn the_index_links_every_room_or_explains_how_to_add_one() {
        let empty = index_page(&[]);
        assert!(empty.contains("sogs-admin room add"));
        let html = index_page(&[
            IndexEntry {
                token: "lobby",
                name: "The Lobby",
                description: None,
                active_users: 3,
            },
            IndexEntry {
                token: "dev",
                name: "Dev & Ops",
                description: Some("Builds"),
                active_users: 0,
            },
        ]);
        assert!(html.contains("<a href=\"/r/lobby/\">The Lobby</a>"));
        assert!(html.contains("Dev &amp; Ops"));
        assert!(html.contains("3 active users"));
    }
}

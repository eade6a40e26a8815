//! The HTML of the web pages, built from plain values so it can be tested without a server.
//! Everything that came from an operator, a user or a database is escaped.
//!
//! The pages are self-contained (no external fonts, scripts or images) and work without
//! JavaScript: the join URL, the QR code and the messages are in the HTML. The small inline
//! script only adds the copy button and refreshes the messages and user count in place.
//! Both inline blocks are allowed by their hashes in the Content-Security-Policy
//! ([`content_security_policy`]), so nothing else can run.

use std::sync::LazyLock;

use base64::Engine;
use sha2::{Digest, Sha256};

/// What the room page shows of a room.
pub struct RoomPage<'a> {
    pub token: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub join_url: &'a str,
    pub active_users: i64,
    /// The room has an image, served at `image`.
    pub has_image: bool,
    /// The operator lets the page show recent messages: `Some` (possibly empty) list.
    pub messages: Option<&'a [WebMessage]>,
}

/// One room in the index.
pub struct IndexEntry<'a> {
    pub token: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub active_users: i64,
    pub has_image: bool,
}

/// A message as the room page shows it, read-only: decoded from the Session protobuf.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WebMessage {
    pub id: i64,
    /// Unix seconds.
    pub posted: f64,
    /// The display name the sender's client put in the message (anyone can claim any
    /// name, so the page shows the start of the session id beside it).
    pub author: Option<String>,
    pub session_id: String,
    pub text: Option<String>,
    /// File names of the attachments ("attachment" when the sender gave none).
    pub attachments: Vec<String>,
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

/// Colours chosen for at least 7:1 contrast (WCAG AAA) for text, light and dark.
pub(super) const STYLE: &str = "\
:root{color-scheme:light dark;--fg:#1a1a1a;--muted:#4a4a4a;--bg:#fff;--panel:#f2f4f3;\
--accent:#00573a;--border:#c9cfcc}\
@media (prefers-color-scheme:dark){:root{--fg:#f0f0f0;--muted:#c4c4c4;--bg:#121212;\
--panel:#1f2321;--accent:#7fe0b4;--border:#3a403d}}\
*{box-sizing:border-box}\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;line-height:1.5;margin:0;\
color:var(--fg);background:var(--bg)}\
a{color:var(--accent)}a:focus-visible,button:focus-visible,textarea:focus-visible{\
outline:3px solid var(--accent);outline-offset:2px}\
.wrap{max-width:44rem;margin:0 auto;padding:1rem}\
.top{font-size:.95rem}\
h1{margin:.2rem 0;font-size:1.8rem;overflow-wrap:anywhere}h2{font-size:1.25rem;margin:1.6rem 0 .5rem}\
.muted{color:var(--muted)}\
.head{display:flex;gap:1rem;align-items:center}\
.room-image{width:6rem;height:6rem;border-radius:50%;object-fit:cover;flex:none;\
background:var(--panel)}\
.thumb{width:3rem;height:3rem;border-radius:50%;object-fit:cover;flex:none;background:var(--panel)}\
.initial{display:flex;align-items:center;justify-content:center;font-weight:700;\
color:var(--fg);border:1px solid var(--border)}.room-image.initial{font-size:2.4rem}\
.thumb.initial{font-size:1.3rem}\
.description{white-space:pre-line;overflow-wrap:anywhere}\
.qr{display:block;width:16rem;max-width:100%;height:auto;background:#fff;\
border:1px solid var(--border)}\
label{display:block;font-weight:600;margin-top:1rem}\
.copy-row{display:flex;gap:.5rem;flex-wrap:wrap}\
.copy-row textarea{flex:1 1 16rem;min-width:0;font:0.95rem ui-monospace,monospace;padding:.55rem;\
color:var(--fg);background:var(--panel);border:1px solid var(--border);border-radius:.3rem;\
resize:none;field-sizing:content;word-break:break-all}\
.copy-row button{align-self:flex-start}\
button{font:inherit;font-weight:600;padding:.5rem 1rem;border-radius:.3rem;cursor:pointer;\
color:#fff;background:#00573a;border:1px solid #00573a}\
.rooms{list-style:none;padding:0;margin:0}\
.rooms li{display:flex;gap:.8rem;align-items:center;padding:.7rem 0;\
border-bottom:1px solid var(--border)}\
.rooms a{font-weight:600;font-size:1.1rem}\
.messages{list-style:none;padding:0;margin:0}\
.messages li{padding:.6rem .8rem;margin:.5rem 0;background:var(--panel);border-radius:.4rem;\
overflow-wrap:anywhere}\
.author{font-weight:600}.sid{font-family:ui-monospace,monospace;font-size:.85rem}\
.text{margin:.2rem 0;white-space:pre-wrap}\
.files{margin:.2rem 0;padding:0;list-style:none}\
.cmd{font-family:ui-monospace,monospace;background:var(--panel);padding:.6rem;\
border-radius:.3rem;overflow-wrap:anywhere}";

/// Copy button and live messages. Reads its data from the page (`data-` attributes) and
/// builds elements with `textContent` only, so nothing from a message is parsed as HTML.
const SCRIPT: &str = r#"(function(){
var url=document.getElementById("join-url"),copy=document.getElementById("copy"),
status=document.getElementById("copy-status");
if(url&&copy){copy.hidden=false;copy.addEventListener("click",function(){
function done(ok){status.textContent=ok?"Join URL copied.":"Select the URL and copy it.";}
if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(url.value).then(
function(){done(true)},function(){done(false)});}
else{url.focus();url.select();try{done(document.execCommand("copy"));}catch(e){done(false);}}});}
var list=document.getElementById("messages");if(!list)return;
var users=document.getElementById("active-users"),updated=document.getElementById("updated");
function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;
if(text!=null)e.textContent=text;return e;}
function render(m){var li=el("li");li.dataset.id=m.id;var head=el("div");
head.appendChild(el("span","author",m.author||"Anonymous"));head.appendChild(document.createTextNode(" "));
head.appendChild(el("span","sid muted",m.session_id.slice(0,10)+"\u2026"));head.appendChild(document.createTextNode(" "));
var t=el("time","muted",new Date(m.posted*1000).toLocaleString());t.dateTime=new Date(m.posted*1000).toISOString();
head.appendChild(t);li.appendChild(head);if(m.text)li.appendChild(el("p","text",m.text));
if(m.attachments.length){var ul=el("ul","files");ul.setAttribute("aria-label","Attachments");
m.attachments.forEach(function(f){ul.appendChild(el("li",null,"Attachment: "+f));});li.appendChild(ul);}
return li;}
function refresh(){if(document.hidden)return;
fetch(list.dataset.src,{cache:"no-store"}).then(function(r){if(!r.ok)throw r.status;return r.json();})
.then(function(d){var items=d.messages.map(render);list.replaceChildren.apply(list,items);
var empty=document.getElementById("no-messages");if(empty)empty.hidden=items.length>0;
if(users)users.textContent=d.active_users_text;
updated.textContent="Updated "+new Date().toLocaleTimeString()+".";})
.catch(function(){updated.textContent="Could not refresh; retrying.";});}
list.querySelectorAll("time").forEach(function(t){t.textContent=new Date(t.dateTime).toLocaleString();});
refresh();setInterval(refresh,10000);})();"#;

pub(super) fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

static CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; img-src 'self'; style-src {}; script-src {}; connect-src 'self'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        csp_hash(STYLE),
        csp_hash(SCRIPT)
    )
});

/// The Content-Security-Policy of every page: only this page's own style and script (by
/// hash), images and JSON from this server, nothing else.
pub fn content_security_policy() -> &'static str {
    &CSP
}

pub(super) fn page(title: &str, body: &str, script: bool) -> String {
    let script = if script {
        format!("<script>{SCRIPT}</script>")
    } else {
        String::new()
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{}</title><style>{STYLE}</style></head><body><div class=\"wrap\">{body}</div>\
         {script}</body></html>\n",
        escape(title)
    )
}

/// The first letter of a room's name, capitalised and escaped: the stand-in for a
/// missing room image.
fn initial(name: &str) -> String {
    let first = name
        .chars()
        .find(|c| c.is_alphanumeric())
        .map_or_else(|| "#".to_string(), |c| c.to_uppercase().collect());
    escape(&first)
}

/// "1 active user", "3 active users".
pub fn users(n: i64) -> String {
    if n == 1 {
        "1 active user".into()
    } else {
        format!("{n} active users")
    }
}

/// An HTTP-style UTC date for a Unix time (the script shows local time instead).
fn date(posted: f64) -> (String, String) {
    let secs = if posted.is_finite() && posted > 0.0 {
        posted as u64
    } else {
        0
    };
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    let text = httpdate::fmt_http_date(at);
    // RFC 3339 for the datetime attribute, from the same instant.
    let iso = iso8601(secs);
    (iso, text)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time (days to a civil date by 400-year eras).
fn iso8601(secs: u64) -> String {
    let secs = i64::try_from(secs).unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn message_item(m: &WebMessage) -> String {
    let (iso, text_date) = date(m.posted);
    let short_id: String = m.session_id.chars().take(10).collect();
    let text = m
        .text
        .as_deref()
        .map(|t| format!("<p class=\"text\">{}</p>", escape(t)))
        .unwrap_or_default();
    let files = if m.attachments.is_empty() {
        String::new()
    } else {
        let items: String = m
            .attachments
            .iter()
            .map(|f| format!("<li>Attachment: {}</li>", escape(f)))
            .collect();
        format!("<ul class=\"files\" aria-label=\"Attachments\">{items}</ul>")
    };
    format!(
        "<li data-id=\"{id}\"><div><span class=\"author\">{author}</span> \
         <span class=\"sid muted\">{short_id}\u{2026}</span> \
         <time class=\"muted\" datetime=\"{iso}\">{text_date}</time></div>{text}{files}</li>",
        id = m.id,
        author = escape(m.author.as_deref().unwrap_or("Anonymous")),
        short_id = escape(&short_id),
    )
}

/// A room's page: image, details, join URL with a copy button, invite QR code, and the
/// recent messages when the operator lets the room show them.
pub fn room_page(room: &RoomPage<'_>) -> String {
    let name = escape(room.name);
    let image = if room.has_image {
        format!("<img class=\"room-image\" src=\"image\" alt=\"Image of the room {name}\">")
    } else {
        format!(
            "<span class=\"room-image initial\" aria-hidden=\"true\">{}</span>",
            initial(room.name)
        )
    };
    let description = room
        .description
        .map(|d| format!("<p class=\"description\">{}</p>", escape(d)))
        .unwrap_or_default();
    let messages = match room.messages {
        None => String::new(),
        Some(list) => {
            let items: String = list.iter().map(message_item).collect();
            let hidden = if list.is_empty() { "" } else { " hidden" };
            format!(
                "<section aria-labelledby=\"messages-h\"><h2 id=\"messages-h\">Recent messages</h2>\
                 <p class=\"muted\">Read-only: join in Session to take part. \
                 <span id=\"updated\" role=\"status\">Reload the page for new messages.</span></p>\
                 <p id=\"no-messages\" class=\"muted\"{hidden}>No messages yet.</p>\
                 <ol id=\"messages\" class=\"messages\" data-src=\"messages.json\" \
                 aria-label=\"Recent messages, newest first\">{items}</ol></section>"
            )
        }
    };
    let body = format!(
        "<nav class=\"top\" aria-label=\"Site\"><a href=\"/\">All rooms</a></nav>\
         <main><div class=\"head\">{image}<div><h1>{name}</h1>\
         <p class=\"muted\" id=\"active-users\">{users}</p></div></div>{description}\
         <section aria-labelledby=\"join-h\"><h2 id=\"join-h\">Join in Session</h2>\
         <p>In the Session app, choose <strong>Join Community</strong>, then scan this code \
         or paste the join URL.</p>\
         <img class=\"qr\" src=\"invite.png\" width=\"256\" height=\"256\" \
         alt=\"QR code of the join URL of {name}\">\
         <label for=\"join-url\">Join URL</label>\
         <div class=\"copy-row\"><textarea id=\"join-url\" rows=\"2\" readonly \
         spellcheck=\"false\">{url}</textarea>\
         <button type=\"button\" id=\"copy\" hidden>Copy</button></div>\
         <p id=\"copy-status\" role=\"status\"></p></section>{messages}</main>",
        users = users(room.active_users),
        url = escape(room.join_url),
    );
    page(
        &format!("{} \u{2013} Session community", room.name),
        &body,
        true,
    )
}

/// The list of public rooms with their images and activity, or how to create the first.
pub fn index_page(rooms: &[IndexEntry<'_>]) -> String {
    const TITLE: &str = "Session Community Server";
    if rooms.is_empty() {
        return page(
            TITLE,
            "<main><h1>Session Community Server</h1><p>This server has no public rooms yet.</p>\
             <p>Its operator can create one with</p>\
             <p class=\"cmd\">sogs-admin room add lobby --name \"The Lobby\"</p></main>",
            false,
        );
    }
    let items: String = rooms
        .iter()
        .map(|r| {
            // The image is decorative beside the room's name, so its text alternative is
            // empty (screen readers skip it).
            let thumb = if r.has_image {
                format!(
                    "<img class=\"thumb\" src=\"/r/{}/image\" alt=\"\">",
                    escape(r.token)
                )
            } else {
                format!(
                    "<span class=\"thumb initial\" aria-hidden=\"true\">{}</span>",
                    initial(r.name)
                )
            };
            let description = r
                .description
                .map(|d| format!("<br><span class=\"description\">{}</span>", escape(d)))
                .unwrap_or_default();
            format!(
                "<li>{thumb}<div><a href=\"/r/{token}/\">{name}</a> \
                 <span class=\"muted\">{users}</span>{description}</div></li>",
                token = escape(r.token),
                name = escape(r.name),
                users = users(r.active_users),
            )
        })
        .collect();
    page(
        TITLE,
        &format!(
            "<main><h1>Session Community Server</h1><p>Open a room to join it with the \
             Session app.</p><h2>Public rooms</h2><ul class=\"rooms\">{items}</ul></main>"
        ),
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> WebMessage {
        WebMessage {
            id: 7,
            posted: 1_700_000_000.0,
            author: Some("<b>Eve</b>".into()),
            session_id: format!("15{}", "ab".repeat(32)),
            text: Some(text.into()),
            attachments: vec!["<img src=x>.png".into()],
        }
    }

    #[test]
    fn room_details_and_messages_are_escaped_everywhere() {
        let messages = [message("<script>alert(1)</script>")];
        let html = room_page(&RoomPage {
            token: "lobby",
            name: "<script>alert(1)</script>",
            description: Some("\"quoted\" & 'single'"),
            join_url: "http://x/lobby?public_key=ab&x=\"><b>",
            active_users: 1,
            has_image: true,
            messages: Some(&messages),
        });
        let body = html.split("<script>").next().unwrap();
        assert!(!body.contains("<script>alert"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&quot;quoted&quot; &amp; &#39;single&#39;"));
        assert!(html.contains("public_key=ab&amp;x=&quot;&gt;&lt;b&gt;"));
        assert!(html.contains("&lt;b&gt;Eve&lt;/b&gt;"));
        assert!(html.contains("&lt;img src=x&gt;.png"));
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.contains("1 active user<"));
        assert!(html.contains("src=\"invite.png\""));
        assert!(html.contains("alt=\"Image of the room &lt;script&gt;"));
        assert!(html.contains("datetime=\"2023-11-14T22:13:20Z\""));
    }

    #[test]
    fn messages_appear_only_when_the_operator_enables_them() {
        let page = |messages| {
            room_page(&RoomPage {
                token: "lobby",
                name: "Lobby",
                description: None,
                join_url: "http://x/lobby?public_key=ab",
                active_users: 0,
                has_image: false,
                messages,
            })
        };
        let off = page(None);
        assert!(!off.contains("Recent messages"));
        assert!(!off.contains("<img class=\"room-image\""));
        let empty = page(Some(&[]));
        assert!(empty.contains("Recent messages"));
        assert!(empty.contains("<p id=\"no-messages\" class=\"muted\">No messages yet."));
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
                has_image: true,
            },
            IndexEntry {
                token: "dev",
                name: "Dev & Ops",
                description: Some("Builds"),
                active_users: 0,
                has_image: false,
            },
        ]);
        assert!(html.contains("<a href=\"/r/lobby/\">The Lobby</a>"));
        assert!(html.contains("src=\"/r/lobby/image\" alt=\"\""));
        assert!(!html.contains("/r/dev/image"));
        assert!(html.contains("Dev &amp; Ops"));
        assert!(html.contains("3 active users"));
    }

    #[test]
    fn the_policy_allows_exactly_the_inline_style_and_script() {
        let csp = content_security_policy();
        assert!(csp.contains(&csp_hash(STYLE)));
        assert!(csp.contains(&csp_hash(SCRIPT)));
        assert!(csp.starts_with("default-src 'none'"));
        assert!(!csp.contains("unsafe-inline"));
    }
}

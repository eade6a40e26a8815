//! Headless Chromium driven through chromedriver (WebDriver, via `fantoccini`), for the
//! tests of the web pages as a browser renders and runs them. `scripts/test` installs the
//! Debian packages `chromium` and `chromium-driver`; a test fails, never skips, without them.
//! Screenshots go to `$CARGO_TARGET_DIR/web-screenshots/` (else `target/…`) for a person to
//! look at.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// Desktop and phone viewports the pages are checked at.
pub const DESKTOP: (u32, u32) = (1280, 900);
pub const PHONE: (u32, u32) = (390, 844);

/// A chromedriver process and one browser session on it; both end when dropped.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn find_on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

impl Browser {
    /// Starts chromedriver on a free port and opens a fresh headless Chromium session with
    /// the window at `size`.
    pub async fn start(size: (u32, u32)) -> Browser {
        let chromium = find_on_path(&["chromium", "chromium-browser", "google-chrome"]).expect(
            "Chromium is needed for the web page tests: run scripts/test, which installs it",
        );
        let chromedriver = find_on_path(&["chromedriver"]).expect(
            "chromedriver is needed for the web page tests: run scripts/test, which installs it",
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("browser profile dir");
        let mut browser_guard = DriverGuard(Some(driver));
        let mut ready = false;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "chromedriver did not listen on {port}");
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--hide-scrollbars".into(),
            format!("--user-data-dir={}", profile.path().display()),
            format!("--window-size={},{}", size.0, size.1),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium.display().to_string(), "args": args }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session through chromedriver");
        let driver = browser_guard.0.take().expect("driver process");
        let browser = Browser {
            client,
            driver,
            _profile: profile,
        };
        browser.resize(size).await;
        browser
    }

    /// Sets the viewport (the inner size) to `size`, whatever the window frame takes.
    pub async fn resize(&self, (width, height): (u32, u32)) {
        self.client.set_window_size(width, height).await.unwrap();
        let inner = self
            .eval("return [window.innerWidth, window.innerHeight];")
            .await;
        let (iw, ih) = (inner[0].as_u64().unwrap(), inner[1].as_u64().unwrap());
        let w = u64::from(width) * 2 - iw;
        let h = u64::from(height) * 2 - ih;
        self.client
            .set_window_size(u32::try_from(w).unwrap(), u32::try_from(h).unwrap())
            .await
            .unwrap();
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// Runs `script` (a function body; `return` gives the value) in the page.
    pub async fn eval(&self, script: &str) -> Value {
        self.client.execute(script, Vec::new()).await.unwrap()
    }

    /// Waits up to `secs` seconds for `script` to return `true`.
    pub async fn wait_for(&self, script: &str, secs: u64, what: &str) {
        for _ in 0..secs * 10 {
            if self.eval(script).await == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("waited {secs} s for {what}");
    }

    pub async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .text()
            .await
            .unwrap()
    }

    /// Saves a screenshot of the viewport as `name.png` and returns its path; checks it is a
    /// PNG of the viewport's size.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        let dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
            .join("web-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap();
        let inner = self
            .eval("return [window.innerWidth, window.innerHeight];")
            .await;
        assert_eq!(
            (
                u64::from(reader.info().width),
                u64::from(reader.info().height)
            ),
            (inner[0].as_u64().unwrap(), inner[1].as_u64().unwrap()),
            "screenshot of the whole viewport"
        );
        path
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// Kills chromedriver if the session could not be opened.
struct DriverGuard(Option<Child>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

//! The exported web page in a real browser: `tessera export --dzi` and `--iiif`, served from
//! 127.0.0.1 by the test and opened in headless Chromium with every other host unreachable,
//! show the mosaic as `tessera render` draws the same view; every file the page asks for
//! is there. The page is shown in a fixed-size frame: headless Chromium lays a page out
//! shorter than its window and resizes it as it takes the screenshot, mid-animation. Without its script or its tiles the page is a dark rectangle, which the
//! comparison fails.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Each request a server answered: its path and status.
type RequestLog = Arc<Mutex<Vec<(String, u16)>>>;

/// Serves the files under `root` on 127.0.0.1 (a port of its own) until the test ends;
/// records each request's path and status.
fn serve(root: PathBuf) -> (u16, RequestLog) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let requests = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut line = String::new();
            if BufReader::new(&stream).read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let file = root.join(percent_decoded(path.trim_start_matches('/')));
            let (status, body) = match std::fs::read(&file) {
                Ok(body) if file.starts_with(&root) => (200, body),
                _ => (404, Vec::new()),
            };
            requests.lock().unwrap().push((path, status));
            let kind = match file.extension().and_then(|e| e.to_str()) {
                Some("html") => "text/html; charset=utf-8",
                Some("js") => "text/javascript",
                Some("json") => "application/json",
                Some("jpg") => "image/jpeg",
                Some("png") => "image/png",
                _ => "application/octet-stream",
            };
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.0 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    (port, log)
}

fn percent_decoded(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&path[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A screenshot of `url` in headless Chromium, `w × h`, after the page has had its time.
fn screenshot(url: &str, out: &Path, (w, h): (u32, u32)) -> image::RgbaImage {
    let status = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            // Nothing but the test's server: a page that needs the network shows nothing.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            &format!("--window-size={w},{h}"),
            "--virtual-time-budget=15000",
            &format!("--screenshot={}", out.display()),
            url,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| {
            panic!("cannot run chromium ({e}): install Debian's `chromium` package (scripts/test.sh does)")
        });
    assert!(status.success(), "chromium failed on {url}");
    image::open(out).unwrap().to_rgba8()
}

/// Mean absolute difference per channel (RGB, in 1/255) over the rectangle `[x0, x1) ×
/// [y0, y1)`, clear of the page's buttons and navigator.
fn mean_difference(a: &image::RgbaImage, b: &image::RgbaImage, [x0, y0, x1, y1]: [u32; 4]) -> f64 {
    let mut sum = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            let (p, q) = (a.get_pixel(x, y), b.get_pixel(x, y));
            sum += (0..3).map(|c| p[c].abs_diff(q[c]) as u64).sum::<u64>();
        }
    }
    sum as f64 / ((x1 - x0) * (y1 - y0) * 3) as f64
}

#[test]
fn the_exported_page_shows_the_mosaic_in_a_browser_with_no_network() {
    let fx = common::fixture(12, 32, (24, 16));
    let d = fx.dir.path();
    let mosaic = fx.mosaic.to_str().unwrap();
    // The page, in an 800×500 frame at the window's top left.
    let frame = (800, 500);
    // The page's first view fits the whole mosaic, as `render` does by default.
    let reference = d.join("reference.png");
    let (code, _, err) = common::tessera(&[
        "render",
        mosaic,
        "-o",
        reference.to_str().unwrap(),
        "--size",
        "800x500",
        "--renderer",
        "cpu",
    ]);
    assert_eq!(code, 0, "{err}");
    let reference = image::open(&reference).unwrap().to_rgba8();
    // Clear of the buttons (top left) and the navigator (bottom right).
    let compared = [40, 60, 620, 420];
    for kind in ["dzi", "iiif"] {
        let web = d.join(kind);
        let (code, _, err) = common::tessera(&[
            "export",
            mosaic,
            &format!("--{kind}"),
            web.to_str().unwrap(),
            "--name",
            "my mosaic",
            "--cell-px",
            "32",
            "--renderer",
            "cpu",
        ]);
        assert_eq!(code, 0, "{kind}: {err}");
        std::fs::write(
            web.join("frame.html"),
            format!(
                "<!DOCTYPE html><html><head><link rel=\"icon\" href=\"data:,\"></head><body style=\"margin:0;background:#000\"><iframe \
                 src=\"my%20mosaic.html\" width=\"{}\" height=\"{}\" \
                 style=\"border:0;display:block\"></iframe></body></html>",
                frame.0, frame.1
            ),
        )
        .unwrap();
        let (port, requests) = serve(web.clone());
        let url = format!("http://127.0.0.1:{port}/frame.html");
        let shot = screenshot(&url, &d.join(format!("{kind}.png")), (800, 600));
        let difference = mean_difference(&shot, &reference, compared);
        let missing: Vec<_> = requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, status)| *status != 200)
            .cloned()
            .collect();
        assert!(
            missing.is_empty(),
            "{kind}: the page asked for files not there: {missing:?}"
        );
        assert!(
            difference < 8.0,
            "{kind}: the page differs from the render by {difference:.1}/255 on average"
        );
        // The same page without its viewer script: a dark rectangle, far from the render.
        std::fs::remove_dir_all(web.join("openseadragon")).unwrap();
        let blank = screenshot(&url, &d.join(format!("{kind}-blank.png")), (800, 600));
        let blank_difference = mean_difference(&blank, &reference, compared);
        eprintln!(
            "{kind}: page {difference:.2}/255 from the render, {blank_difference:.1}/255 without its viewer"
        );
        assert!(
            blank_difference > 4.0 * difference.max(5.0),
            "{kind}: a page with no viewer is too close to the render ({blank_difference:.1})"
        );
    }
}

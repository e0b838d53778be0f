//! `certificates:` in apim-emu.yaml: id → PEM file, loaded into the engine's certificate store
//! by `serve`, so that validate-jwt `<key certificate-id>` verifies tokens signed with the
//! certificate's key. The certificate is made by `openssl` at test time (skipped with a message
//! when it is absent, unless `CI` is set).

use std::path::{Path, PathBuf};
use std::process::Command;

use apim_gateway::config::LoadOptions;
use apim_gateway::serve::{ServeOptions, start};

/// A scratch folder with a `certs/` folder, removed when the guard drops (also when the test
/// fails).
fn temp_dir(name: &str) -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix(&format!("apim-emu-certs-{name}-"))
        .tempdir()
        .expect("temp dir");
    std::fs::create_dir_all(d.path().join("certs")).unwrap();
    d
}

fn openssl(dir: &Path, args: &[&str]) -> bool {
    match Command::new("openssl").args(args).current_dir(dir).output() {
        Ok(o) if o.status.success() => true,
        Ok(o) => panic!(
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "openssl is required in CI: {e}"
            );
            println!("skipped: openssl is not available ({e})");
            false
        }
    }
}

/// A self-signed certificate and its key in `certs/signer.pem`; `false` without openssl.
fn make_certificate(dir: &Path) -> bool {
    if !openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "certs/key.pem",
            "-out",
            "certs/cert.pem",
            "-subj",
            "/CN=apim-emu-test",
            "-days",
            "2",
        ],
    ) {
        return false;
    }
    let key = std::fs::read_to_string(dir.join("certs/key.pem")).unwrap();
    let cert = std::fs::read_to_string(dir.join("certs/cert.pem")).unwrap();
    std::fs::write(dir.join("certs/signer.pem"), format!("{cert}{key}")).unwrap();
    true
}

fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// An RS256 JWT signed by openssl with the certificate's key.
fn signed_jwt(dir: &Path, payload: &str) -> String {
    let input = format!(
        "{}.{}",
        base64url(br#"{"alg":"RS256","typ":"JWT"}"#),
        base64url(payload.as_bytes())
    );
    std::fs::write(dir.join("input.txt"), &input).unwrap();
    assert!(openssl(
        dir,
        &[
            "dgst",
            "-sha256",
            "-sign",
            "certs/key.pem",
            "-out",
            "sig.bin",
            "input.txt"
        ]
    ));
    let sig = std::fs::read(dir.join("sig.bin")).unwrap();
    format!("{input}.{}", base64url(&sig))
}

const POLICY: &str = r#"<policies>
  <inbound>
    <validate-jwt header-name="Authorization" failed-validation-httpcode="401">
      <issuer-signing-keys>
        <key certificate-id="jwt-signer" />
      </issuer-signing-keys>
    </validate-jwt>
    <return-response><set-status code="200" reason="OK" /></return-response>
  </inbound>
  <backend><forward-request /></backend>
  <outbound />
  <on-error />
</policies>"#;

fn write_config(dir: &Path, certificates: &str) -> PathBuf {
    let path = dir.join("apim-emu.yaml");
    std::fs::write(
        &path,
        format!(
            "certificates:\n{certificates}apis:\n  echo:\n    path: echo\n    subscriptionRequired: false\n    policy: policy.xml\n    operations:\n      get: {{method: GET, urlTemplate: /}}\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("policy.xml"), POLICY).unwrap();
    path
}

#[test]
fn certificates_load_from_pem_files_and_bad_files_are_errors_at_their_line() {
    let dir_guard = temp_dir("load");
    let dir = dir_guard.path();
    if !make_certificate(dir) {
        return;
    }
    let path = write_config(dir, "  jwt-signer: certs/signer.pem\n");
    let loaded = apim_gateway::load(&path, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(loaded.certificates.len(), 1);
    let c = &loaded.certificates[0];
    assert_eq!(c.id, "jwt-signer");
    assert_eq!(c.path, dir.join("certs/signer.pem"));
    assert!(c.pem.contains("BEGIN CERTIFICATE") && c.pem.contains("PRIVATE KEY"));
    assert!(loaded.files.contains(&dir.join("certs/signer.pem")));
    // The PEM never shows in debug output (it holds the private key).
    assert!(!format!("{c:?}").contains("PRIVATE KEY"));

    std::fs::write(dir.join("certs/empty.pem"), "not a certificate\n").unwrap();
    for (entry, expected) in [
        (
            "  a: certs/missing.pem\n",
            "apim-emu.yaml:2:6: error: certificate `a`: cannot read `certs/missing.pem`",
        ),
        (
            "  b: certs/empty.pem\n",
            "apim-emu.yaml:2:6: error: certificate `b`: `certs/empty.pem` is not a PEM certificate",
        ),
    ] {
        let path = write_config(dir, entry);
        let err = apim_gateway::load(&path, &LoadOptions::default()).unwrap_err();
        let text = err.render();
        assert!(text.contains(expected), "{expected} not in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_jwt_uses_a_configured_certificate() {
    let dir_guard = temp_dir("serve");
    let dir = dir_guard.path();
    if !make_certificate(dir) {
        return;
    }
    let path = write_config(dir, "  jwt-signer: certs/signer.pem\n");
    let options = ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ServeOptions::default()
    };
    let gw = start(&path, options)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let url = format!("http://{}/echo/", gw.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(gw.serve(async {
        let _ = rx.await;
    }));
    let good = signed_jwt(dir, r#"{"sub":"alice","exp":4102444800}"#);
    // The same claims with another signature: the certificate's key did not sign it.
    let other = signed_jwt(dir, r#"{"sub":"mallory","exp":4102444800}"#);
    let forged = format!(
        "{}.{}",
        good.rsplit_once('.').unwrap().0,
        other.rsplit_once('.').unwrap().1
    );
    let client = reqwest::Client::new();
    let ok = client
        .get(&url)
        .header("Authorization", format!("Bearer {good}"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let bad = client
        .get(&url)
        .header("Authorization", format!("Bearer {forged}"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let _ = tx.send(());
    let _ = task.await;
}

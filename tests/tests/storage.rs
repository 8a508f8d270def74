//! A full photo store loses no photo (issue 16, item 2): while the store is full an upload
//! answers 507 with `Retry-After` and stores nothing, another storage failure answers 503,
//! and once space is freed the same upload is stored and its photo becomes available.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use patrol_tests::device::Device;
use patrol_tests::stores::{BROKEN, FULL, Fillable, WORKING};
use patrol_tests::{Backend, TempDir, TestApp, TestDb, test_config};
use serde_json::json;
use sha2::{Digest, Sha256};

fn photo(salt: &str) -> Vec<u8> {
    let mut b =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde".to_vec();
    b.extend_from_slice(salt.as_bytes());
    b
}

async fn a_full_store_keeps_nothing_and_every_photo_arrives_once_freed(backend: Backend) {
    let Some(db) = TestDb::create(backend) else {
        return;
    };
    let db = Arc::new(db);
    let dir = TempDir::new("patrol-full-store");
    let mut cfg = test_config(&db);
    cfg.blob_dir = dir.0.clone();
    let (store, state) = Fillable::new(&dir.0);
    let app = TestApp::start_with_store(db, cfg, backend, Some(Arc::new(store))).await;
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    let photos: Vec<Vec<u8>> = (0..3).map(|i| photo(&format!("stairwell {i}"))).collect();
    let hashes: Vec<String> = photos
        .iter()
        .map(|p| hex::encode(Sha256::digest(p)))
        .collect();
    let mut phone = Device::new(&officer);
    let case_id = uuid::Uuid::now_v7().to_string();
    phone.queue(
        "case.report",
        json!({"case_id": case_id, "category_code": "garbage_pile", "description": "楼道堆物",
               "lat": 36.605, "lon": 101.805, "photos": hashes}),
    );
    let res = phone.push(&app).await;
    assert_eq!(res.body["results"][0]["outcome"], "applied", "{}", res.text);

    let put = |bytes: Vec<u8>, hash: String| {
        let app = &app;
        let officer = officer.clone();
        async move {
            app.put(&format!("/api/v1/blobs/{hash}"))
                .token(&officer)
                .raw("application/octet-stream", bytes)
                .send()
                .await
        }
    };
    state.store(FULL, Ordering::SeqCst);
    for (p, h) in photos.iter().zip(&hashes) {
        let res = put(p.clone(), h.clone()).await;
        assert_eq!(res.status, 507, "{}", res.text);
        assert_eq!(res.header("retry-after"), Some("60"));
        assert_eq!(res.header("content-type"), Some("application/problem+json"));
        let probe = app
            .req(reqwest::Method::HEAD, &format!("/api/v1/blobs/{h}"))
            .token(&officer)
            .send()
            .await;
        assert_eq!(probe.status, 404, "nothing stored");
    }
    state.store(BROKEN, Ordering::SeqCst);
    let res = put(photos[0].clone(), hashes[0].clone()).await;
    assert_eq!(res.status, 503, "{}", res.text);
    assert!(res.header("retry-after").is_some());

    // Space is freed: the same uploads are stored and the photos become available.
    state.store(WORKING, Ordering::SeqCst);
    for (p, h) in photos.iter().zip(&hashes) {
        let res = put(p.clone(), h.clone()).await;
        assert_eq!(res.status, 201, "{}", res.text);
    }
    phone.pull_all(&app).await;
    let available = phone
        .all("photo")
        .iter()
        .filter(|p| p["status"] == "available")
        .count();
    assert_eq!(
        available,
        3,
        "every photo arrived: {:?}",
        phone.all("photo")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_full_store_keeps_nothing_and_every_photo_arrives_once_freed() {
    a_full_store_keeps_nothing_and_every_photo_arrives_once_freed(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_full_store_keeps_nothing_and_every_photo_arrives_once_freed() {
    a_full_store_keeps_nothing_and_every_photo_arrives_once_freed(Backend::Postgres).await;
}

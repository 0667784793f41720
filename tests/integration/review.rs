//! `podiam explain`: the review sheet is built from the policies themselves.

use crate::cli::{DOCS, podiam, stderr, stdout};

#[test]
fn explain_names_principal_actions_sources_and_risks() {
    let o = podiam(&[&["explain"][..], &DOCS].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let sheet = stdout(&o);
    for needle in [
        "# Access review: IAM role `SkyPilotS3Role-my-bucket`",
        "the AWS service `pods.eks.amazonaws.com` may assume the role",
        "| `ListAndLocateBucket` | `arn:aws:s3:::my-bucket` | list the names of objects in the bucket (`s3:ListBucket`)",
        "delete objects (`s3:DeleteObject`) | `iam/s3-access-policy.json /Statement/1` |",
        "No `s3:PutBucketPolicy`",
        "**Write and delete.**",
        "`aws:RequestTag/kubernetes-namespace` equals `default` (`StringEquals`)",
        "`aws:RequestTag/kubernetes-service-account` equals `skypilot-service-account`",
        "`aws:RequestTag/eks-cluster-arn` matches `arn:aws:eks:us-west-2:*:cluster/my-eks-cluster` (`StringLike`)",
        "**MOUNT_CACHED and the API server's credentials.**",
    ] {
        assert!(sheet.contains(needle), "missing {needle:?} in:\n{sheet}");
    }
    assert!(
        !sheet.contains("nothing can be written"),
        "read-write must not claim read-only"
    );
}

#[test]
fn explain_for_irsa_lists_the_pinning_conditions() {
    let issuer = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
    let o = podiam(
        &[
            &["explain"][..],
            &DOCS,
            &[
                "--method",
                "irsa",
                "--account-id",
                "123456789012",
                "--oidc-issuer",
                issuer,
                "--namespace",
                "ml",
            ],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let sheet = stdout(&o);
    assert!(
        sheet.contains(&format!(
            "`{issuer}:sub` equals `system:serviceaccount:ml:skypilot-service-account`"
        )),
        "{sheet}"
    );
    assert!(
        sheet.contains(&format!("`{issuer}:aud` equals `sts.amazonaws.com`")),
        "{sheet}"
    );
    assert!(!sheet.contains("Unpinned"), "{sheet}");
    let missing = podiam(&[&["explain"][..], &DOCS, &["--method", "irsa"]].concat());
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("account-id"),
        "{}",
        stderr(&missing)
    );
}

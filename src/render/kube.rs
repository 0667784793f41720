//! The Kubernetes objects of a bundle: the namespace, the service account and
//! the RBAC that SkyPilot 0.14.1 documents for a custom service account, with
//! their names and labels, and which of them apply.sh creates. The manifests
//! and all three scripts are rendered from this one list.
//!
//! SkyPilot creates its default account `skypilot-service-account` and that
//! account's RBAC itself on `sky launch`
//! (`sky/provision/kubernetes/config.py`, `bootstrap_instances`); a custom
//! account is used as it is. With MOUNT or MOUNT_CACHED, SkyPilot also needs
//! the namespace `skypilot-system` for its FUSE DaemonSet, which it creates
//! only for its default account.

use serde::Serialize;

use crate::input::access::MountMode;
use crate::input::model::Model;
use crate::input::names;

/// SkyPilot's namespace for the fusermount-server DaemonSet (`sky/clouds/kubernetes.py`).
pub const SYSTEM_NAMESPACE: &str = "skypilot-system";
/// The label that says which tool created an object.
pub const MANAGED_BY_KEY: &str = "app.kubernetes.io/managed-by";
/// The label that names the bundle's namespace and service account.
pub const INSTANCE_KEY: &str = "app.kubernetes.io/instance";
/// The label apply.sh selects one document of a manifest file by.
pub const COMPONENT_KEY: &str = "app.kubernetes.io/component";
/// The value of [`MANAGED_BY_KEY`] on everything podiam creates.
pub const MANAGED_BY: &str = "podiam";
/// The manifest of the namespace and the service account.
pub const ACCOUNT_FILE: &str = "kubernetes/serviceaccount.yaml";
/// The manifest of the RBAC.
pub const RBAC_FILE: &str = "kubernetes/rbac.yaml";
/// Kubernetes' limit on label values.
const LABEL_MAX: usize = 63;
/// Namespaces teardown.sh never deletes, whoever created them.
const KEPT_NAMESPACES: [&str; 4] = [
    "kube-system",
    "kube-public",
    "kube-node-lease",
    SYSTEM_NAMESPACE,
];

/// One object apply.sh creates when it is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Object {
    /// kubectl's resource name: `namespace`, `serviceaccount`, `role`, ...
    pub kind: &'static str,
    /// The object's name.
    pub name: String,
    /// Its namespace; empty for cluster-scoped objects.
    pub namespace: String,
    /// Its `app.kubernetes.io/component` label, unique within its file.
    pub component: &'static str,
    /// The bundle file that holds its manifest.
    pub file: &'static str,
    /// Whether teardown.sh keeps it even when podiam created it.
    pub shared: bool,
}

/// Everything the manifests and scripts need about the Kubernetes objects.
#[derive(Debug, Serialize)]
pub struct Kubernetes {
    /// The `app.kubernetes.io/instance` label: `<namespace>.<service account>`,
    /// shortened with a hash to 63 characters when longer.
    pub instance: String,
    /// Name of the Role, RoleBinding, ClusterRole and ClusterRoleBinding.
    pub rbac_name: String,
    /// Name of the Role and RoleBinding in `skypilot-system`.
    pub system_rbac_name: String,
    /// `skypilot-system`.
    pub system_namespace: &'static str,
    /// Whether the mount mode needs FUSE, and so the `skypilot-system` objects.
    pub fuse: bool,
    /// Whether the RBAC manifest holds the `skypilot-system` Namespace.
    pub system_namespace_doc: bool,
    /// Whether SkyPilot creates the service account and its RBAC (its default account).
    pub skypilot_managed: bool,
    /// The label keys and podiam's value.
    pub managed_by_key: &'static str,
    /// See [`INSTANCE_KEY`].
    pub instance_key: &'static str,
    /// See [`COMPONENT_KEY`].
    pub component_key: &'static str,
    /// See [`MANAGED_BY`].
    pub managed_by: &'static str,
    /// What apply.sh creates when missing, in order (teardown.sh goes backwards).
    pub objects: Vec<Object>,
}

impl Kubernetes {
    /// The objects for a validated model.
    pub fn new(model: &Model) -> Kubernetes {
        let namespace = model.namespace.as_str();
        let account = model.service_account.as_str();
        let instance = names::derive("", &format!("{namespace}.{account}"), LABEL_MAX).name;
        let rbac_name = format!("{MANAGED_BY}:{instance}");
        let system_rbac_name = format!("{rbac_name}:{SYSTEM_NAMESPACE}");
        let skypilot_managed = model.default_service_account();
        let fuse = model.mount_mode != MountMode::Copy;
        let system_namespace_doc = fuse && namespace != SYSTEM_NAMESPACE;
        let object = |kind, name: &str, ns: &str, component, file| Object {
            kind,
            name: name.to_owned(),
            namespace: ns.to_owned(),
            component,
            file,
            shared: kind == "namespace" && KEPT_NAMESPACES.contains(&name),
        };
        let mut objects = Vec::new();
        if !model.default_namespace() {
            objects.push(object(
                "namespace",
                namespace,
                "",
                "namespace",
                ACCOUNT_FILE,
            ));
        }
        if !skypilot_managed || model.method.irsa() {
            let sa = object(
                "serviceaccount",
                account,
                namespace,
                "serviceaccount",
                ACCOUNT_FILE,
            );
            objects.push(sa);
        }
        if !skypilot_managed {
            objects.extend([
                object("role", &rbac_name, namespace, "role", RBAC_FILE),
                object(
                    "rolebinding",
                    &rbac_name,
                    namespace,
                    "rolebinding",
                    RBAC_FILE,
                ),
                object("clusterrole", &rbac_name, "", "clusterrole", RBAC_FILE),
                object(
                    "clusterrolebinding",
                    &rbac_name,
                    "",
                    "clusterrolebinding",
                    RBAC_FILE,
                ),
            ]);
            if system_namespace_doc {
                let ns = object(
                    "namespace",
                    SYSTEM_NAMESPACE,
                    "",
                    "system-namespace",
                    RBAC_FILE,
                );
                objects.push(ns);
            }
            if fuse {
                let system = SYSTEM_NAMESPACE;
                objects.extend([
                    object("role", &system_rbac_name, system, "system-role", RBAC_FILE),
                    object(
                        "rolebinding",
                        &system_rbac_name,
                        system,
                        "system-rolebinding",
                        RBAC_FILE,
                    ),
                ]);
            }
        }
        Kubernetes {
            instance,
            rbac_name,
            system_rbac_name,
            system_namespace: SYSTEM_NAMESPACE,
            fuse,
            system_namespace_doc,
            skypilot_managed,
            managed_by_key: MANAGED_BY_KEY,
            instance_key: INSTANCE_KEY,
            component_key: COMPONENT_KEY,
            managed_by: MANAGED_BY,
            objects,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::params::RawParams;

    fn model(extra: RawParams) -> Model {
        crate::input::model::test_model("my-bucket", extra)
    }

    fn kinds(k: &Kubernetes) -> Vec<&str> {
        k.objects.iter().map(|o| o.component).collect()
    }

    #[test]
    fn skypilots_default_account_gets_only_what_skypilot_does_not_create() {
        assert!(kinds(&Kubernetes::new(&model(RawParams::default()))).is_empty());
        let irsa = RawParams {
            method: Some("irsa".into()),
            namespace: Some("ml".into()),
            ..RawParams::default()
        };
        assert_eq!(
            kinds(&Kubernetes::new(&model(irsa))),
            ["namespace", "serviceaccount"]
        );
    }

    #[test]
    fn a_custom_account_gets_the_documented_rbac_and_fuse_objects() {
        let custom = RawParams {
            service_account: Some("s3-reader".into()),
            ..RawParams::default()
        };
        let k = Kubernetes::new(&model(custom.clone()));
        assert_eq!(
            kinds(&k),
            [
                "serviceaccount",
                "role",
                "rolebinding",
                "clusterrole",
                "clusterrolebinding",
                "system-namespace",
                "system-role",
                "system-rolebinding"
            ]
        );
        assert_eq!(k.instance, "default.s3-reader");
        assert!(
            k.objects
                .iter()
                .filter(|o| o.shared)
                .all(|o| o.name == SYSTEM_NAMESPACE)
        );
        let copy = RawParams {
            mount_mode: Some("COPY".into()),
            ..custom
        };
        assert_eq!(Kubernetes::new(&model(copy)).objects.len(), 5);
    }

    #[test]
    fn the_system_namespace_itself_is_never_torn_down() {
        let raw = RawParams {
            namespace: Some(SYSTEM_NAMESPACE.into()),
            service_account: Some("s".into()),
            ..RawParams::default()
        };
        let k = Kubernetes::new(&model(raw));
        let namespaces: Vec<&Object> = k.objects.iter().filter(|o| o.kind == "namespace").collect();
        assert_eq!(namespaces.len(), 1);
        assert!(namespaces[0].shared);
        assert!(!k.system_namespace_doc);
    }
}

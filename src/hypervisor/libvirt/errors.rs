//! libvirt errors → [`HvError`]s that name the action, the domain and libvirt's message.

use virt::domain::Domain;
use virt::error::{ErrorDomain, ErrorNumber};
use virt::sys;

use crate::hypervisor::{HvError, HvErrorKind};

/// libvirt error → [`HvErrorKind`].
///
/// `VIR_ERR_NO_DOMAIN` → `NoDomain`; `OPERATION_DENIED` (read-only connection) and
/// `ACCESS_DENIED` (ACL/polkit) → `ReadOnly`; `OPERATION_INVALID` → `InvalidOperation`;
/// `NO_CONNECT`, `INVALID_CONN`, `RPC`, `AUTH_*` and any error raised by the RPC or
/// remote layers (a `SYSTEM_ERROR` such as "Cannot recv data" comes from there) →
/// `Connection`. A `SYSTEM_ERROR` raised elsewhere (a missing disk image) is `Other`.
pub(crate) fn error_kind(e: &virt::error::Error) -> HvErrorKind {
    use ErrorNumber as N;
    let from_rpc = matches!(
        e.domain().known(),
        Some(ErrorDomain::Rpc | ErrorDomain::Remote)
    );
    match e.code().known() {
        Some(N::NoDomain) => HvErrorKind::NoDomain,
        Some(N::OperationDenied | N::AccessDenied) => HvErrorKind::ReadOnly,
        Some(N::OperationInvalid) => HvErrorKind::InvalidOperation,
        Some(
            N::NoConnect
            | N::InvalidConn
            | N::Rpc
            | N::AuthFailed
            | N::AuthCancelled
            | N::AuthUnavailable,
        ) => HvErrorKind::Connection,
        Some(N::SystemError) if from_rpc => HvErrorKind::Connection,
        _ if from_rpc => HvErrorKind::Connection,
        _ => HvErrorKind::Other,
    }
}

pub(super) fn raw_code(e: &virt::error::Error) -> sys::virErrorNumber {
    e.code().to_raw()
}

/// True for "this driver does not take that flag" errors.
pub(super) fn is_unsupported_flag(e: &virt::error::Error) -> bool {
    matches!(
        raw_code(e),
        sys::VIR_ERR_INVALID_ARG
            | sys::VIR_ERR_NO_SUPPORT
            | sys::VIR_ERR_OPERATION_UNSUPPORTED
            | sys::VIR_ERR_ARGUMENT_UNSUPPORTED
    )
}

pub(super) fn action_error(
    action: &str,
    uuid: &str,
    dom: &Domain,
    e: &virt::error::Error,
) -> HvError {
    HvError::new(
        error_kind(e),
        format!("{action} {uuid}({}): {}", dom_name(dom), e.message()),
    )
}

pub(super) fn dom_name(dom: &Domain) -> String {
    dom.name().unwrap_or_else(|_| "?".to_string())
}

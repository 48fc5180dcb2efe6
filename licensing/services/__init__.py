"""Use cases, one module per context. Each service runs its transition inside one transaction,
saves, and writes its audit event (who, when, what, from -> to, why: `_audit`) in that same
transaction. Views, admin, commands and tasks call these and nothing else to change state.

Every service that changes a license locks its row first (SELECT ... FOR UPDATE), so two
conflicting operations on one license run one after the other; ConcurrentTransitionMixin is the
second guard should a caller hold a stale instance. One lock order everywhere: the license, then
a row that hangs off it (`_runner._lock_with_license`: a claim, a conversion, a report, a
milestone); several licenses in id order (`calendar.refresh_effective_dates`).

Every use case is re-exported here: callers write `services.purchase(...)`.
"""

from .calendar import refresh_effective_dates
from .contracts import (
    AMENDABLE_TERMS,
    amend_contract,
    issue_contract,
    missing_party_data,
    record_signing,
    register_technology_contract,
    upload_licensee_copy,
)
from .credit import apply_credit, refund_credit
from .distribution import (
    adopt_policy,
    cancel_payout,
    invite_inventor,
    mark_payout_paid,
    policy_on,
    prepare_payout,
    record_patent_cost,
    send_inventor_invitation,
    set_inventor_shares,
    set_patent_weights,
)
from .distribution import (
    backfill as backfill_allocations,
)
from .equity import (
    approve_equity_conversion,
    execute_equity_conversion,
    propose_equity_conversion,
    purchase_with_equity,
    reject_equity_conversion,
)
from .insurance import POLICY_TERMS, approve_claim, file_claim, record_claim_paid, register_policy, reject_claim
from .invoices import record_invoice, request_invoice, vat_exempt
from .licenses import declare_default, mark_overdue, planned_schedule, purchase, take_effect, terminate, write_off
from .matching import (
    FEEDBACK_STATES,
    NEEDS_FIELDS,
    attribute_push,
    index_needs,
    index_offer,
    index_offers_of_patent,
    push_monthly_digest,
    push_offers,
    push_to_fitting,
    rebuild_matching,
    record_feedback,
    record_push_click,
    set_push_consent,
    unsubscribe,
    unsubscribe_token,
    unsubscribed_enterprise,
    update_needs,
)
from .milestones import reach_milestone
from .obligations import obligations, purchase_date_after_trial
from .offers import (
    check_package,
    holder_line,
    licenses_keeping_closed,
    publish_offer,
    revise_offer,
    set_package,
    withdraw_offer,
)
from .parties import (
    ENTERPRISE_MASTER_DATA,
    approve_member,
    member_decision_allowed,
    register_enterprise,
    renew_calendar_token,
    request_password_reset,
    revoke_member,
    send_password_reset,
    sign_up_member,
    staff_may_correct_enterprise,
    update_enterprise,
)
from .payments import (
    CLIENT_KEY,
    PaymentReversal,
    confirm_payment_report,
    plan_payment_reversal,
    record_payment,
    reject_payment_report,
    report_payment,
    reverse_payment,
)
from .recordals import record_recordal
from .records import delete_record, save_record
from .royalties import (
    accept_royalty_report,
    dispute_royalty_report,
    file_royalty_report,
    preview_royalty,
    record_royalty_adjustment,
)
from .trials import apply_for_trial, approve_trial, expire_trial, reject_application, return_patent

__all__ = [
    "AMENDABLE_TERMS",
    "CLIENT_KEY",
    "ENTERPRISE_MASTER_DATA",
    "FEEDBACK_STATES",
    "NEEDS_FIELDS",
    "POLICY_TERMS",
    "PaymentReversal",
    "accept_royalty_report",
    "adopt_policy",
    "amend_contract",
    "apply_credit",
    "apply_for_trial",
    "approve_claim",
    "approve_equity_conversion",
    "approve_member",
    "approve_trial",
    "attribute_push",
    "backfill_allocations",
    "cancel_payout",
    "check_package",
    "confirm_payment_report",
    "declare_default",
    "delete_record",
    "dispute_royalty_report",
    "execute_equity_conversion",
    "expire_trial",
    "file_claim",
    "file_royalty_report",
    "holder_line",
    "index_needs",
    "index_offer",
    "index_offers_of_patent",
    "invite_inventor",
    "issue_contract",
    "licenses_keeping_closed",
    "mark_overdue",
    "mark_payout_paid",
    "member_decision_allowed",
    "missing_party_data",
    "obligations",
    "plan_payment_reversal",
    "planned_schedule",
    "policy_on",
    "prepare_payout",
    "preview_royalty",
    "propose_equity_conversion",
    "publish_offer",
    "purchase",
    "purchase_date_after_trial",
    "purchase_with_equity",
    "push_monthly_digest",
    "push_offers",
    "push_to_fitting",
    "reach_milestone",
    "rebuild_matching",
    "record_claim_paid",
    "record_feedback",
    "record_invoice",
    "record_patent_cost",
    "record_payment",
    "record_push_click",
    "record_recordal",
    "record_royalty_adjustment",
    "record_signing",
    "refresh_effective_dates",
    "refund_credit",
    "register_enterprise",
    "register_policy",
    "register_technology_contract",
    "reject_application",
    "reject_claim",
    "reject_equity_conversion",
    "reject_payment_report",
    "renew_calendar_token",
    "report_payment",
    "request_invoice",
    "request_password_reset",
    "return_patent",
    "reverse_payment",
    "revise_offer",
    "revoke_member",
    "save_record",
    "send_inventor_invitation",
    "send_password_reset",
    "set_inventor_shares",
    "set_package",
    "set_patent_weights",
    "set_push_consent",
    "sign_up_member",
    "staff_may_correct_enterprise",
    "take_effect",
    "terminate",
    "unsubscribe",
    "unsubscribe_token",
    "unsubscribed_enterprise",
    "update_enterprise",
    "update_needs",
    "upload_licensee_copy",
    "vat_exempt",
    "withdraw_offer",
    "write_off",
]

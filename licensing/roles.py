"""The 'TTO staff' group and its permissions, kept in sync after every migrate."""

from django.contrib.auth.models import Group, Permission

TTO_STAFF_GROUP = "TTO staff"

# model -> actions the staff may take through the admin (state changes go through services).
TTO_STAFF_PERMISSIONS = {
    # Their own institution's master data (the queryset is scoped): what contracts name it by, its payee.
    "institution": ["view", "change"],
    "enterprise": ["view", "add", "change"],
    "patent": ["view", "add", "change"],
    "offer": ["view", "add", "change"],
    "license": ["view", "change"],
    "installment": ["view"],
    "payment": ["view", "change"],  # change: its button (reverse a payment recorded in error)
    "insurancepolicy": ["view"],
    "insuranceclaim": ["view", "change"],
    "equityconversion": ["view", "change"],
    "reminder": ["view"],
    "reminderschedule": ["view", "add", "change"],
    "enterprisemember": ["view", "change"],
    "paymentreport": ["view", "change"],
    "royaltyreport": ["view", "change"],
    "export": ["view"],
    "contract": ["view", "change"],  # change: its buttons (record the signing); its fields are read-only
    "contractversion": ["view"],
    "recordal": ["view", "change"],  # change: its button (record the filing)
    "invoicerequest": ["view", "change"],  # change: its button (record the invoice issued)
    # Revenue distribution: inventors and their shares, the policy and costs, the ledger, payouts.
    "inventor": ["view", "add", "change"],
    "inventorshareset": ["view", "add"],
    "inventorshare": ["view"],  # a share set's rows, shown on its page
    "patentcost": ["view", "add"],
    "distributionpolicy": ["view", "add"],
    "allocation": ["view"],
    "allocationline": ["view"],  # an allocation's lines, shown on its page
    "payoutbatch": ["view", "add", "change"],  # change: its buttons (mark paid, cancel)
    "payoutitem": ["view"],  # a batch's payees, shown on its page
    # Matching: campaigns are made by the offer's "push" button; their funnels are read here.
    "pushcampaign": ["view"],
}


def sync_tto_staff_group(**kwargs) -> Group:
    group, _ = Group.objects.get_or_create(name=TTO_STAFF_GROUP)
    codenames = [f"{action}_{model}" for model, actions in TTO_STAFF_PERMISSIONS.items() for action in actions]
    group.permissions.set(Permission.objects.filter(content_type__app_label="licensing", codename__in=codenames))
    return group

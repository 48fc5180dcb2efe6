from django import template

from licensing.health import system_status as checks

register = template.Library()


@register.simple_tag(takes_context=True)
def system_status(context):
    """Broker, mail and delivery checks for the admin index (staff only)."""
    user = context["request"].user
    return checks() if user.is_active and user.is_staff else []

"""The portal's page routers: each module one area, returning rendered templates."""

from icity.web.pages import (
    account,
    alarm_console,
    app_portal,
    catalogue,
    certification,
    city_access,
    device_commands,
    city_admin,
    developer,
    developer_approvals,
    developer_subscriptions,
    email_verification,
    explorer,
    live,
    messages,
    network,
    network_admin,
    opening_notices,
    owners_admin,
    owners,
    passwords,
    projects,
    service_requests,
    statements,
    wizard,
)

PAGE_ROUTERS = [
    network.router, owners.router, catalogue.router, explorer.router, account.router, app_portal.router, certification.router, developer.router,
    developer_subscriptions.router, city_admin.router, alarm_console.router, device_commands.router, wizard.router, city_access.router,
    opening_notices.router, service_requests.router,
    network_admin.router, owners_admin.router, developer_approvals.router, messages.router, email_verification.router,
    passwords.router, projects.router, statements.router, live.router,
]

"""Who is calling and what they may do, for both apps: the roles of a person's login
(roles.py), a classroom camera's device token and how it logs in to the API (models.py,
devices.py), and the admin pages' permissions (admin_pages.py). Above students and recognition
and importing neither, so that both can use it and imports still run one way
(docs/architecture.md)."""

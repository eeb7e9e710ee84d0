"""File imports: accounts, contacts, subscriptions, tickets, invoices and events."""

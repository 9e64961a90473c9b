"""What comes back: replies, bounces and complaints read from the mailboxes
(:mod:`.imap_poll`), applied to leads, attempts and sequences (:mod:`.processing`), and the
unsubscribe pages' requests (:mod:`.unsubscribe`). LinkedIn replies are read by
:mod:`aicmo.operator_services.channels.linkedin_accounts`."""

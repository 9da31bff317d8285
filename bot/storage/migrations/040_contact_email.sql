-- The shop's contact e-mail address from shop.registered (optional): where the closure's
-- one-time code goes when e-mail is the verification channel (DEPOSIT_VERIFICATION=email).
ALTER TABLE shops ADD COLUMN contact_email TEXT;

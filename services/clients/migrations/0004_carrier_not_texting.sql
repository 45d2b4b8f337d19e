-- When the carrier said this number cannot take texts (conversations'
-- phone.not_texting_capable). A later PIMS sync does not turn texting_capable back on
-- while it is set; staff marking the phone texting-capable clears it.
ALTER TABLE clients.phones ADD COLUMN carrier_not_texting_at timestamptz;

-- Raid and flood detection tuned per room (issue 14); NULL follows the server's defaults
-- ([antiraid] raid_new_posters, raid_window_secs, raid_lockdown_secs and [detectors]
-- flood_enabled). raid_new_posters 0 turns raid detection off in the room.
ALTER TABLE room_policies ADD COLUMN raid_new_posters INTEGER;
ALTER TABLE room_policies ADD COLUMN raid_window_secs REAL;
ALTER TABLE room_policies ADD COLUMN raid_lockdown_secs REAL;
ALTER TABLE room_policies ADD COLUMN flood_enabled BOOLEAN;

-- Issue 17, 网格公示牌: the printable notice of a comprehensive grid or a
-- micro-grid (layers/notices.py, layers/notice_print.py) shows the grid's
-- service hours and, for each person of the grid, the number chosen for public
-- notices.
--
-- 服务时间: free text as the centre writes it ("周一至周五 8:30-17:30；周末值班
-- 电话 …"), one notice's worth (the layer says so with the field named before
-- the database does).
ALTER TABLE grids ADD COLUMN service_hours text
    CONSTRAINT grids_service_hours_length
    CHECK (char_length(service_hours) BETWEEN 1 AND 200);

-- 公示电话: which number of the person goes on public notices. 'work' (the
-- default) is grid_staff.phone; 'other' is notice_phone, a number the person
-- gave for the purpose; 'none' prints no number. notice_phone is kept only with
-- 'other', so a hidden number is not lying about to be printed by mistake.
ALTER TABLE grid_staff
    ADD COLUMN notice_phone_choice text NOT NULL DEFAULT 'work'
        CONSTRAINT grid_staff_notice_phone_choice
        CHECK (notice_phone_choice IN ('work', 'other', 'none')),
    ADD COLUMN notice_phone text
        CONSTRAINT grid_staff_notice_phone_format
        CHECK (notice_phone ~ '^[0-9+\- ]{5,20}$'),
    ADD CONSTRAINT grid_staff_notice_phone_other
        CHECK ((notice_phone_choice = 'other') = (notice_phone IS NOT NULL));

"""The message catalogue of gridgov: every string a user reads, once, Chinese first.

One table for the whole product. Pages (Jinja ``t``/``both``), the scripts (each
page hands its scripts the slice of the table they use, as JSON, read by
``gg.t``), the ranking's PDF and XLSX, the CLI and every API error take their words
from here. It lives in geo/, the one package every other (layers/, importers/,
api/, web/) may import, so no layer reaches upward for its words.

Each entry is ``key -> (中文, English)`` with named placeholders as in
``str.format``. Three forms of a message, by where it is read:

- :func:`say`: one sentence, ``中文（English）`` (``geo.vocab.BILINGUAL``), for
  errors (API JSON ``message``, the CLI, a page's error text) and import reasons;
- :func:`both`: a label, ``中文 English``;
- :func:`text`: one language alone (pages that set the English in a grey span).

The sections below are the old catalogues merged, each kept as a named dict
(:data:`COMMON`, the words several pages share; :data:`PAGES`, :data:`READERS`,
:data:`CHECKS`, :data:`ERRORS`) so the modules that had them
(``web.i18n.STRINGS``, COMMON and PAGES together, ``importers.messages.MESSAGES``,
``layers.import_messages.MESSAGES``) stay thin aliases of their section and their
callers did not have to change; a key is unique across all of them
(:data:`CATALOGUE` refuses a second one at import).

An error is raised with its entry, the field it names staying in the raise:
``raise Invalid(say("err_required", field="address"), field="address")``; the API
answers ``{"error": {code, message: "中文（English）", field}}`` (api/errors.py).

Not here: the controlled vocabularies (``geo.vocab``: code -> (中文, English) of
grid levels, camera statuses, incident states …), which are data the schema
checks as much as words, and the zone's label (``geo.localtime.LABEL``); both are
read from their one home the same way.

``tests/unit/test_catalogue.py`` fails on a user-facing string outside it: prose in
the templates and scripts, errors raised with a literal message, and
``bilingual("…", "…")`` written in place.
"""

from geo.vocab import bilingual

__all__ = ["COMMON", "PAGES", "READERS", "CHECKS", "ERRORS", "CATALOGUE", "say",
           "pair", "text", "both"]

# the words more than one page uses (a column, a button, a layer's name), under
# one key each: every page hands its scripts this slice with its own prefix's
# (web.i18n.page_strings), so no page keeps a copy of a common word
COMMON = {
    "households": ("住户", "Households"),
    "cameras": ("视频监控", "Cameras"),
    "staff": ("网格力量", "Grid staff"),
    "grid_chain": ("网格归属", "Grid chain"),
    "cameras_seeing": ("可视摄像头", "Cameras seeing this spot"),
    "outside": ("此处不在任何网格内", "This spot lies outside every grid"),
    "loading": ("查询中…", "Looking up…"),
    "busy": ("加载中…", "Loading…"),
    "failed": ("查询失败", "Lookup failed"),
    "none": ("无", "none"),
    "name": ("名称", "Name"),
    "code": ("编码", "Code"),
    "household_count": ("户数", "Households"),
    "metres": ("米", "m"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "time": ("时间", "Time"),
    "user": ("用户", "User"),
    "save": ("保存", "Save"),
    "incidents": ("事件", "Incidents"),
    "grids": ("网格边界", "Grids"),
    "tracks": ("巡查轨迹", "Patrol tracks"),
    "grid": ("网格", "Grid"),
    "level": ("层级", "Level"),
    "month": ("月份", "Month"),
    "category": ("类别", "Category"),
    "subtype": ("子类", "Subtype"),
    # whom an incident concerns (dispatch, the phone, /disputes)
    "parties": ("当事人", "Parties"),
    "parties_per_line": ("当事人（每行一人）", "Parties (one per line)"),
    "households_n": ("{n} 户", "{n} households"),
    "grid_worker": ("网格员", "Grid worker"),
    "parent_grid": ("上级网格", "Parent grid"),
    "preview": ("预览", "Preview"),
    "cancel": ("取消", "Cancel"),
    "overdue": ("已超期", "Overdue"),
    "overdue_open": ("超期未结", "Overdue"),
    "per_100": ("每百户事件", "Per 100 households"),
    "proposed_outcome": ("建议结果", "Proposed outcome"),
    "row_n": ("第 {row} 行", "row {row}"),
    "total": ("合计", "Total"),
}

# the pages and their scripts, the CLI's import lines (formerly web/i18n.py)
PAGES = {
    "app_title": ("综治网格地图", "Grid governance map"),
    "api_docs_title": ("接口文档", "API documentation"),
    "api_docs_spec": ("OpenAPI 3.0 文档", "OpenAPI 3.0 document"),
    "nav_map": ("地图", "Map"),
    "nav_menu": ("菜单", "Menu"),
    "nav_panel": ("信息面板", "Panel"),
    "nav_plan": ("网格规划", "Grid planning"),
    "nav_audit": ("审计日志", "Audit log"),
    "nav_dispatch": ("指挥调度", "Dispatch"),
    "dispatch_hint": ("点击地图，或输入坐标、地名、地址定位",
                      "Click the map, or type coordinates, a place or an address"),
    "dispatch_crs": ("坐标系", "Coordinates"),
    "dispatch_lon": ("经度 / X", "Longitude / X"),
    "dispatch_lat": ("纬度 / Y", "Latitude / Y"),
    "dispatch_locate": ("定位", "Locate"),
    "dispatch_search": ("地名、地址或户主", "Place, address or head of household"),
    "dispatch_find": ("查找", "Find"),
    "dispatch_no_hits": ("未找到", "Nothing found"),
    "dispatch_kind_camera": ("摄像头", "Camera"),
    "dispatch_kind_household": ("住户", "Household"),
    "dispatch_point": ("位置 {lon}, {lat}（WGS-84）", "Point {lon}, {lat} (WGS-84)"),
    "dispatch_nearest": ("附近其他摄像头", "Other cameras nearby"),
    "dispatch_warnings": ("此处预警", "Early warnings here"),
    "dispatch_warning_line": ("{grid}：{category}近 {days} 天 {observed} 起（预期 "
                              "{expected}），自 {since} 起",
                              "{grid}: {category}, {observed} in {days} days "
                              "(expected {expected}), since {since}"),
    "dispatch_warning_cluster": ("时空聚集", "space-time cluster"),
    "dispatch_near_incidents": ("200 米内未结事件", "Open incidents within 200 m"),
    "dispatch_near_households": ("100 米内住户", "Households within 100 m"),
    "dispatch_register": ("受理登记", "Register an incident"),
    "dispatch_source": ("来源", "Source"),
    "dispatch_reporter": ("报告人", "Reporter"),
    "dispatch_concern": ("涉及住户与当事人", "Whom it concerns"),
    "dispatch_household": ("涉及住户", "Household"),
    "dispatch_household_find": ("查找住户（地址或户主）",
                                "Find a household (address or name)"),
    "dispatch_household_clear": ("取消", "Clear"),
    "dispatch_household_none": ("未找到住户", "No household found"),
    "dispatch_address": ("涉及地址（未选住户时）", "Address (when no household)"),
    "dispatch_address_fact": ("涉及地址", "Address"),
    "dispatch_description": ("事件描述", "Description"),
    "dispatch_check": ("查重并预览", "Check for duplicates"),
    "dispatch_need_point": ("请先在地图上定位", "Locate the spot first"),
    "dispatch_duplicates": ("疑似重复：{m} 米内、{d} 天内同类未结事件",
                            "Likely duplicates: open, same category, within {m} m "
                            "and {d} days"),
    "dispatch_no_duplicates": ("未发现重复", "No likely duplicate"),
    "dispatch_goes_to": ("将归属 {grid}，期限 {deadline}（{n} 个工作日）",
                         "Goes to {grid}, deadline {deadline} ({n} working days)"),
    "dispatch_link": ("并入此事件", "Link to this one"),
    "dispatch_confirm": ("确认登记", "Register it"),
    "dispatch_registered": ("已登记 {code}，归属 {grid}",
                            "Registered {code} in {grid}"),
    "dispatch_linked": ("已并入 {code}", "Linked to {code}"),
    "dispatch_queues": ("各级队列", "Queues by level"),
    "dispatch_scope": ("范围：{name}", "Scope: {name}"),
    "dispatch_scope_mine": ("我的辖区", "My jurisdiction"),
    "dispatch_scope_micro": ("看本微网格队列", "This micro-grid's queues"),
    "dispatch_list_empty": ("队列为空", "The queue is empty"),
    "dispatch_timeline": ("处置过程（北京时间）", "Timeline (China time)"),
    "dispatch_photos": ("现场照片", "Photos"),
    "dispatch_note": ("意见 / 备注", "Note"),
    "dispatch_deadline": ("期限", "Deadline"),
    "dispatch_assignee": ("承办", "In charge"),
    "dispatch_to_staff": ("分派给网格人员", "Assign to grid staff"),
    "dispatch_department": ("或交部门", "or to a department"),
    "dispatch_outcome": ("办结结果", "Outcome"),
    "dispatch_satisfaction": ("满意度", "Satisfaction"),
    "dispatch_received": ("受理时间", "Received"),
    "dispatch_outside_mine": ("不在您的管辖范围", "Outside your jurisdiction"),
    "dispatch_done": ("{action}：完成", "{action}: done"),
    # the grid workers' phone page /m/ (web/mobile.py, static/mobile/*.js)
    "m_app_name": ("网格通 · 网格员手机端", "gridgov for grid workers"),
    "m_app_short": ("网格通", "gridgov"),
    "m_login_failed": ("登录失败：{msg}", "Login failed: {msg}"),
    "m_login_again": ("登录已失效，请重新登录；未发送的记录会保留。",
                      "Your login has ended: log in again; unsent items are kept."),
    "m_revoked": ("此设备已被注销，手机上缓存的数据已清除。",
                  "This device was signed out; the data kept on the phone was wiped."),
    "m_other_user": ("手机上有 {user} 的 {n} 条记录未发送。以 {me} 登录将丢弃这 {n} 条"
                     "记录，无法恢复；保留它们请取消，由 {user} 登录发送。",
                     "{n} unsent items of {user} are on this phone. Logging in as "
                     "{me} discards these {n} items for good; to keep them, cancel "
                     "and let {user} log in to send them."),
    "m_other_discard": ("丢弃并登录", "Discard and log in"),
    "m_other_keep": ("取消，保留记录", "Cancel, keep them"),
    "m_other_kept": ("已取消登录，记录已保留。",
                     "Login cancelled; the items are kept."),
    "m_logout_confirm": ("还有 {n} 条记录未发送：退出后锁定保留在手机上，您再次登录后"
                         "发送。确定退出？",
                         "{n} items are not sent yet: they stay on the phone, locked, "
                         "and are sent when you log in again. Log out?"),
    "m_logged_out": ("已退出，手机上缓存的数据已清除。",
                     "Logged out; the data kept on the phone was wiped."),
    "m_online": ("在线", "Online"),
    "m_offline": ("离线", "Offline"),
    "m_tab_report": ("上报", "Report"),
    "m_tab_tasks": ("待办", "Tasks"),
    "m_tab_visits": ("走访", "Visits"),
    "m_tab_patrol": ("巡查", "Patrol"),
    "m_tab_queue": ("待发送", "Outbox"),
    "m_description": ("情况描述", "What you see"),
    "m_photos": ("照片（1–3 张）", "Photos (1–3)"),
    "m_add_photo": ("拍照 / 选图", "Take or choose a photo"),
    "m_remove": ("删除", "Remove"),
    "m_photo_failed": ("无法读取这张照片", "This photo cannot be read"),
    "m_position": ("位置", "Position"),
    "m_locating": ("正在定位…", "Finding your position…"),
    "m_accuracy": ("精度 ±{m} 米", "accuracy ±{m} m"),
    "m_no_gps": ("无法定位：{msg}", "No position: {msg}"),
    "m_drag_pin": ("定位精度差于 30 米：请拖动图钉到准确位置",
                   "Accuracy worse than 30 m: drag the pin to the exact spot"),
    "m_pin_moved": ("已手动调整位置", "Position set by hand"),
    "m_relocate": ("重新定位", "Locate again"),
    "m_check": ("下一步：查重预览", "Next: check for duplicates"),
    "m_need_position": ("请等待定位完成", "Wait for a position"),
    "m_need_text": ("请填写情况描述", "Write what you see"),
    "m_goes_to": ("归属微网格：{grid}", "Micro-grid: {grid}"),
    "m_goes_to_local": ("归属微网格（按手机上的网格判断）：{grid}",
                        "Micro-grid (from the phone's copy): {grid}"),
    "m_outside": ("此位置不在您的微网格内", "This spot is outside your micro-grids"),
    "m_preview_offline": ("无网络：暂不能查重，确认后将在联网时发送",
                          "No network: no duplicate check now; once confirmed it is "
                          "sent when the network returns"),
    "m_duplicates": ("附近疑似重复事件", "Likely duplicates nearby"),
    "m_no_duplicates": ("附近未发现重复事件", "No likely duplicate nearby"),
    "m_distance": ("{m} 米", "{m} m"),
    "m_link": ("并入此事件", "Add to this one"),
    "m_send": ("确认上报", "Send the report"),
    "m_back": ("返回修改", "Back"),
    "m_queued": ("已保存，等待发送", "Saved, waiting to be sent"),
    "m_reported": ("已上报 {code}", "Reported {code}"),
    "m_linked": ("已并入 {code}", "Added to {code}"),
    "m_refresh": ("刷新", "Refresh"),
    "m_synced_at": ("同步于 {time}", "Synced {time}"),
    "m_never_synced": ("尚未同步", "Not synced yet"),
    "m_tasks_empty": ("暂无待办", "No task"),
    "m_visits_due": ("矛盾纠纷重点关注：需上门走访", "Recurring disputes: visits due"),
    "m_visit_due": ("需走访", "Visit due"),
    "m_due_count": ("近 {days} 天 {n} 起纠纷", "{n} disputes in {days} days"),
    "m_last_dispute": ("最近一起 {code}（{date}）", "Last: {code} ({date})"),
    "m_call": ("拨打 {phone}", "Call {phone}"),
    "m_concern": ("涉及住户或地址", "Household or address"),
    "m_new_tasks": ("新任务 {n} 条", "{n} new tasks"),
    "m_deadline": ("期限 {time}", "Due {time}"),
    "m_accept": ("接收", "Accept"),
    "m_feedback": ("处置反馈", "Report back"),
    "m_note": ("处置情况", "What was done"),
    "m_send_feedback": ("提交反馈", "Send"),
    "m_households_empty": ("暂无住户，请联网后刷新", "No household: refresh online"),
    "m_search": ("搜索地址或户主", "Search address or name"),
    "m_last_visit": ("上次走访 {date}", "Last visit {date}"),
    "m_never_visited": ("未走访", "Not visited yet"),
    "m_people": ("{n} 人", "{n} people"),
    "m_visit": ("记录走访", "Record a visit"),
    "m_visit_note": ("走访情况", "Notes"),
    "m_size_seen": ("实见人数", "People seen"),
    "m_tag": ("建议标签（待审核）", "Proposed tag (to be confirmed)"),
    "m_tag_none": ("不提标签", "No tag"),
    "m_visit_distance": ("距住户约 {m} 米", "About {m} m from the household"),
    "m_save_visit": ("保存走访", "Save the visit"),
    "m_more": ("还有 {n} 户，请搜索", "{n} more: search"),
    "m_patrol_start": ("开始巡查", "Start patrol"),
    "m_patrol_stop": ("结束巡查", "Stop patrol"),
    "m_patrol_screen": ("巡查时请保持本页打开、屏幕常亮：熄屏或切到其他应用后"
                        "手机停止定位，轨迹会中断。",
                        "Keep this page open and the screen on: positioning stops when "
                        "the screen is off or another app is in front."),
    "m_patrol_idle": ("未在巡查", "Not patrolling"),
    "m_patrol_status": ("巡查中：已记录 {n} 个点，{min} 分钟",
                        "Patrolling: {n} points, {min} min"),
    "m_points": ("{n} 个定位点", "{n} positions"),
    "m_patrol_done": ("巡查结束：{n} 个点已保存", "Patrol ended: {n} points saved"),
    "m_wake_on": ("屏幕常亮：已开启", "Screen kept on"),
    "m_wake_off": ("屏幕常亮：不可用，请手动关闭自动锁屏",
                   "Screen cannot be kept on: turn auto-lock off by hand"),
    "m_queue_count": ("待发送 {n} 条", "{n} waiting"),
    "m_queue_empty": ("没有待发送的记录", "Nothing waiting"),
    "m_send_now": ("立即发送", "Send now"),
    "m_discard": ("放弃", "Discard"),
    "m_discard_confirm": ("确定放弃这条记录？放弃后无法恢复。",
                          "Discard this item? It cannot be undone."),
    "m_kind_report": ("事件上报", "Report"),
    "m_kind_photo": ("照片", "Photo"),
    "m_kind_accept": ("接收任务", "Accept a task"),
    "m_kind_feedback": ("处置反馈", "Feedback"),
    "m_kind_visit": ("入户走访", "Visit"),
    "m_kind_patrol": ("巡查轨迹", "Patrol points"),
    "m_state_waiting": ("等待发送", "Waiting"),
    "m_state_sending": ("发送中", "Sending"),
    "m_state_sent": ("已发送", "Sent"),
    "m_state_failed": ("失败", "Failed"),
    "m_state_login": ("已锁定，待登录", "Locked until login"),
    "m_waiting_login": ("手机上有 {user} 的 {n} 条记录未发送，{user} 登录后发送",
                        "{n} unsent items of {user}: sent when {user} logs in"),
    "m_net_error": ("网络不可用，稍后自动重试", "No network: retrying later"),
    "m_parent_discarded": ("所属的事件上报已放弃", "report discarded"),
    "m_store_blocked": ("手机存储被本应用的另一页面占用：请关闭其他页面",
                        "IndexedDB blocked: close the app's other pages"),
    "m_error": ("出错：{msg}", "Error: {msg}"),
    # the leaders' overview on / (static/overview.js)
    "ov_everywhere": ("全域", "Everywhere"),
    "ov_choropleth": ("专题图 Choropleth", "Choropleth"),
    "ov_heatmap": ("事件热力 Incident heatmap", "Incident heatmap"),
    "ov_heatmap_legend": ("事件核密度（件/平方公里）",
                          "Kernel density (incidents per km²)"),
    "ov_hotspots": ("冷热点（Gi*） Hot and cold spots", "Hot and cold spots"),
    "ov_views": ("摄像头视域 Camera views", "Camera views"),
    "ov_blind": ("监控盲区 Blind spots", "Blind spots"),
    "ov_measure": ("指标", "Measure"),
    "ov_received": ("受理", "Received"),
    "ov_labels": ("网格名称 Grid names", "Grid names"),
    "ov_rec_layer": ("补点建议 Proposed cameras", "Proposed cameras"),
    "ov_hot_legend": ("冷热点（Gi*）", "Hot and cold spots (Gi*)"),
    "ov_blind_legend": ("监控盲区：无摄像头可见",
                        "Blind spots: no camera sees"),
    "ov_rec_legend": ("建议点位及其 {m} 米覆盖范围",
                      "Proposed site, its {m} m reach"),
    "ov_rec_title": ("补点建议", "Where to add cameras"),
    "ov_rec_hint": (
        "按尚未覆盖的住户和近 12 个月的事件，"
        "逐个选出新增覆盖最多的球机点位（半径 100 米）。",
        "Sites picked one by one for the most households and last 12 months' "
        "incidents no camera sees yet (PTZ, 100 m)."),
    "ov_rec_k": ("新增数量", "Cameras"),
    "ov_rec_run": ("计算点位", "Propose sites"),
    "ov_rec_none": ("没有能新增覆盖的点位。",
                    "No site would see anything more."),
    "ov_rec_now": (
        "现有摄像头覆盖住户 {share}（{covered} / {total} 户）",
        "Cameras today see {share} of households ({covered} of {total})"),
    "ov_rec_rank": ("序号", "No."),
    "ov_rec_households": ("新增住户", "Households added"),
    "ov_rec_incidents": ("新增事件", "Incidents added"),
    "ov_rec_share": ("累计住户覆盖率", "Households seen, cumulative"),
    "ov_rec_curve": ("累计覆盖曲线", "Cumulative coverage curve"),
    "ov_rec_axis": ("新增摄像头数", "Cameras added"),
    "ov_visit_rate": ("走访率", "Households visited"),
    "ov_m_visit_rate": ("走访率（本期走访住户占比）",
                        "Visit rate (share of households visited)"),
    "ov_mom": ("受理环比", "Received, month on month"),
    "ov_yoy": ("受理同比", "Received, year on year"),
    "ov_coverage_line": ("视频覆盖：面积 {area}，住户 {hh}；"
                         "摄像头在线 {online} / {cameras}",
                         "Camera coverage: area {area}, households {hh}; cameras "
                         "online {online} / {cameras}"),
    "ov_children": ("下级网格", "Grids below"),
    "ov_drill": ("下钻", "Drill down"),
    "ov_no_data": ("无数据", "No data"),
    "ov_zoom_in": ("放大到 {zoom} 级以上显示本层网格",
                   "Zoom in to level {zoom} or more to see these grids"),
    "ov_period": ("统计期 {from} 至 {to}", "Period {from} to {to}"),
    "ov_m_resolution_rate": ("化解率", "Resolution rate"),
    "ov_m_timeliness": ("按期办结率", "Closed on time"),
    "ov_m_received": ("受理量", "Incidents received"),
    "ov_m_per_100_households": ("每百户事件数", "Incidents per 100 households"),
    "ov_m_overdue": ("超期件数", "Overdue"),
    "ov_m_avg_close_days": ("平均办结天数", "Days to close (mean)"),
    "ov_m_received_change": ("受理量环比", "Received, month on month"),
    "ov_m_yoy_change": ("受理量同比", "Received, year on year"),
    "ov_m_coverage": ("视频覆盖率（住户）", "Camera coverage (households)"),
    "ov_m_score": ("综合得分", "Score"),
    # the overview's view as one HTML file (api/maps.py, web/maps.py)
    "ov_export": ("导出 HTML 地图", "Export HTML map"),
    "ov_export_at": ("导出于 {time}，离线可打开", "Exported {time}; opens offline"),
    "ov_export_file": ("网格地图", "grid-map"),
    # the overview's early warnings (static/overview.js: GET/POST /api/v1/warnings)
    "ov_ew_title": ("预警", "Early warnings"),
    "ov_ew_layer": ("预警网格 Warned grids", "Warned grids"),
    "ov_ew_legend": ("预警网格（红色虚线框）", "Warned grid (red dashed outline)"),
    "ov_ew_none": ("本区域暂无未排除的预警。", "No live warning here."),
    "ov_ew_cluster": ("时空聚集", "Space-time cluster"),
    "ov_ew_figures": ("实际 {observed} / 预期 {expected}",
                      "observed {observed} / expected {expected}"),
    "ov_ew_since": ("自 {since} 起", "since {since}"),
    "ov_ew_status_open": ("待处置", "Open"),
    "ov_ew_status_acknowledged": ("已知悉", "Acknowledged"),
    "ov_ew_status_assessing": ("研判中", "Being assessed"),
    "ov_ew_status_dismissed": ("已排除", "Dismissed"),
    "ov_ew_acknowledge": ("知悉", "Acknowledge"),
    "ov_ew_assess": ("转研判", "Send to 研判"),
    "ov_ew_dismiss": ("排除", "Dismiss"),
    "ov_ew_reason": ("排除原因", "Reason"),
    "ov_ew_incidents": ("相关事件（{n} 件）", "Incidents behind it ({n})"),
    "ov_ew_done": ("已记录：{status}", "Recorded: {status}"),
    "wrong_login": ("用户名或密码错误", "Wrong user name or password"),
    "forbidden": ("无权访问", "Not allowed"),
    "forbidden_text": ("您的角色无权访问此页面。", "Your role may not open this page."),
    # the planners' page /plan (web/plan.py, web/static/plan.js)
    "plan_open": ("打开", "Open"),
    "plan_redraw": ("修改边界", "Redraw"),
    "plan_split": ("拆分", "Split"),
    "plan_merge": ("合并", "Merge"),
    "plan_reload": ("刷新", "Reload"),
    "plan_hint": ("点击地图上的网格选中它，再选择“修改边界”“拆分”或“合并”。",
                  "Click a grid on the map to select it, then Redraw, Split or "
                  "Merge."),
    "plan_hint_redraw": ("拖动白色顶点修改边界：相邻网格的共用顶点一同移动，靠近其他"
                         "网格的顶点或边时自动吸附（按住 Alt 不吸附）；单击边上的中点"
                         "加顶点，右键单击顶点删除；Ctrl+Z 撤销。然后点击“预览”。",
                         "Drag the white vertices: a vertex shared with neighbouring "
                         "grids moves in all of them, and snaps to other grids' "
                         "vertices and edges (hold Alt not to snap); click an edge's "
                         "middle handle to add a vertex, right-click a vertex to "
                         "delete it; Ctrl+Z undoes. Then press Preview."),
    "plan_undo": ("撤销", "Undo"),
    "plan_pin": ("共用顶点在相邻网格中一同移动", "Move shared vertices in the "
                 "neighbouring grids too"),
    "plan_gap_item": ("空隙 {n}（{area} m²）交给：", "Gap {n} ({area} m²) to:"),
    "plan_give": ("并入", "give to"),
    "plan_hint_split": ("画一条穿过网格的分割线：逐点单击，再次单击最后一点结束，"
                        "然后点击“预览”。",
                        "Draw a line across the grid: click point by point, click "
                        "the last point again to finish, then press Preview."),
    "plan_hint_merge": ("依次点击要合并的相邻网格（至少两个，并入第一个），"
                        "然后点击“预览”。",
                        "Click the adjacent grids to merge (two or more; they merge "
                        "into the first), then press Preview."),
    "plan_select_first": ("请先在地图上点击选择一个网格",
                          "Select a grid on the map first"),
    "plan_hint_upper": ("下级网格保持原边界、整体归入所在一侧：分割线请沿下级网格的"
                        "边界画；移到新上级下的网格换用新编码，住户、摄像头、事件和"
                        "人员随之变更。",
                        "The grids below keep their boundaries and go whole to their "
                        "side: draw the line along their edges. Those that move to a "
                        "new parent get new codes; their households, cameras, "
                        "incidents and staff follow."),
    "plan_recoded": ("重新编码的下级网格", "Grids below that get new codes"),
    "plan_code_change": ("原编码 → 新编码", "Old code → new code"),
    "plan_all_incidents": ("事件（含已办结）", "Incidents (closed too)"),
    "plan_staff": ("网格人员", "Staff"),
    "plan_accounts": ("管辖范围随之变更的账号", "Accounts whose jurisdiction changes"),
    "plan_account_ends": ("管辖网格撤销，需管理员重新指定",
                          "its grid ends: an administrator must assign another"),
    "plan_multipart": ("该网格由多块组成，不能在此拖动顶点",
                       "This grid has several parts: its vertices cannot be "
                       "dragged here"),
    "plan_nothing": ("还没有修改：请先拖动顶点、画线或选择网格",
                     "Nothing to preview yet: drag a vertex, draw a line or select "
                     "grids first"),
    "plan_selected": ("已选网格", "Selected grid"),
    "plan_merge_into": ("并入", "Merge into"),
    "plan_version": ("版本", "Version"),
    "plan_area": ("面积（m²）", "Area (m²)"),
    "plan_before": ("原面积（m²）", "Before (m²)"),
    "plan_after": ("新面积（m²）", "After (m²)"),
    "plan_changed": ("边界变更的网格", "Grids whose boundary changes"),
    "plan_created": ("新建", "new"),
    "plan_removed": ("撤销", "removed"),
    "plan_new_name": ("新网格名称（可选）", "New grid's name (optional)"),
    "plan_moves": ("归属变更", "Changes of grid"),
    "plan_incidents": ("未结事件", "Open incidents"),
    "plan_household": ("住户（地址 · 户主）", "Household (address · head)"),
    "plan_from_to": ("原网格 → 新网格", "From → to"),
    "plan_more": ("另有 {n} 条", "{n} more"),
    "plan_can_save": ("可以保存", "Can be saved"),
    "plan_gap_refused": ("不能保存：留下 {area} m² 的空隙，请先把该区域划给相邻网格",
                         "Cannot be saved: it leaves {area} m² of gaps; give that "
                         "area to a neighbour first"),
    "plan_check": ("层级检查", "Hierarchy check"),
    "plan_check_ok": ("保存后上级网格内没有问题",
                      "No problem in the parent grid after it"),
    "plan_check_note": ("以下问题不阻止保存，请核对：",
                        "These do not prevent saving; check them:"),
    "plan_previewing": ("正在预览…", "Previewing…"),
    "plan_saving": ("正在保存…", "Saving…"),
    "plan_loading": ("正在加载…", "Loading…"),
    "plan_saved": ("已保存：{grids}", "Saved: {grids}"),
    "plan_conflict": ("已被他人修改（当前版本 {version}），请刷新",
                      "Changed by someone else (now version {version}): reload"),
    "plan_refused": ("不能保存", "Cannot be saved"),
    "plan_failed": ("请求失败", "Request failed"),
    "plan_no_grids": ("您的管辖范围内没有可规划的网格",
                      "There is no grid to plan in your jurisdiction"),
    "plan_legend_current": ("现状边界", "Current boundary"),
    "plan_legend_preview": ("预览边界", "Previewed boundary"),
    "plan_legend_gap": ("空隙", "Gap"),
    "plan_legend_moved": ("将迁移的住户", "Household that moves"),
    "plan_line_start": ("单击开始画分割线", "Click to start the line"),
    "plan_line_cont": ("单击继续画线", "Click to continue the line"),
    "plan_line_end": ("再次单击最后一点结束", "Click the last point to finish"),
    "plan_line_error": ("线不能自相交", "The line cannot cross itself"),
    # issue 16: create, delete, proposals, lineage, warnings, the check page
    "plan_create": ("新建", "Create"),
    "plan_delete": ("删除", "Delete"),
    "plan_propose": ("建议微网格", "Propose micro-grids"),
    "plan_hint_create": ("在上级网格内画出新微网格的边界（逐点单击，单击第一点闭合），"
                         "填写名称，然后点击“预览”：它从相邻微网格划入面积和住户。",
                         "Draw the new micro-grid (click point by point, click the "
                         "first point to close it), give its name, then Preview: it "
                         "takes its area and households from its neighbours."),
    "plan_hint_delete": ("选择承接其面积和住户的相邻网格，点击“预览”核对，"
                         "再点击“保存”。",
                         "Choose the neighbour that takes its area and households, "
                         "Preview, then Save."),
    "plan_hint_propose": ("系统按住户位置建议每格 50–100 户的微网格：点击“采用此方案”"
                          "预览变更，再点击“保存”确认。",
                          "Micro-grids of 50–100 households proposed from where the "
                          "households are: Adopt previews the change, Save confirms "
                          "it."),
    "plan_need_level3": ("新建和建议微网格须在综合网格（三级）下进行：请在“上级网格”中"
                         "选择一个综合网格",
                         "Micro-grids are created and proposed under a comprehensive "
                         "grid (level 3): choose one as the parent grid"),
    "plan_delete_micro_only": ("只能删除微网格（四级）：请先在地图上选择一个微网格",
                               "Only micro-grids (level 4) can be deleted: select "
                               "one on the map first"),
    "plan_delete_title": ("删除 {name}", "Delete {name}"),
    "plan_delete_into": ("面积和住户并入", "Its area and households go to"),
    "plan_delete_auto": ("自动：边界最长的相邻网格",
                         "Automatic: the neighbour with the longest border"),
    "plan_new_micro_name": ("新微网格名称（必填）", "New micro-grid's name (required)"),
    "plan_propose_target": ("目标户数", "Target households"),
    "plan_propose_again": ("重新建议", "Propose again"),
    "plan_proposing": ("正在生成建议…", "Proposing…"),
    "plan_proposal": ("建议方案", "Proposal"),
    "plan_proposal_summary": ("{grids} 个微网格，共 {households} 户，"
                              "每格 {min}–{max} 户",
                              "{grids} micro-grids, {households} households, "
                              "{min}–{max} each"),
    "plan_proposal_ok": ("每格都在 50–100 户之间",
                         "Every one within 50–100 households"),
    "plan_proposal_bad": ("有微网格不在 50–100 户之间",
                          "Some are outside 50–100 households"),
    "plan_proposal_no": ("编号", "No."),
    "plan_compactness": ("紧凑度", "Compactness"),
    "plan_adopt": ("采用此方案", "Adopt this proposal"),
    "plan_adopt_confirm": ("下方是采用后的变更：核对后点击“保存”确认采用，"
                           "或点击“取消”。",
                           "Below is what adopting changes: Save to confirm, or "
                           "Cancel."),
    "plan_warning": ("户数警告", "Household warning"),
    "plan_warning_since": ("{at} 由 {user} 保存时留下，修正前一直保留",
                           "left by {user}'s save of {at}, kept until fixed"),
    "plan_saved_warning": ("注意：以下微网格户数不在 {low}–{high} 户之间，警告已记入"
                           "网格档案，修正前一直保留：",
                           "Note: these micro-grids are outside {low}–{high} "
                           "households; the warning stays on their record until "
                           "fixed:"),
    "plan_china_time": ("北京时间", "China time"),
    "plan_lineage": ("沿革", "Lineage"),
    "plan_lineage_lookup": ("查编码沿革（旧编码的去向、编码的来源）",
                            "Code lineage (what an old code became, where a code "
                            "came from)"),
    "plan_lineage_placeholder": ("网格编码", "grid code"),
    "plan_lineage_go": ("查询", "Look up"),
    "plan_lineage_of": ("编码 {code} 的沿革", "Lineage of code {code}"),
    "plan_lineage_exists": ("现行网格", "A grid in use"),
    "plan_lineage_gone": ("已不再使用", "No longer in use"),
    "plan_lineage_came_from": ("来源", "Came from"),
    "plan_lineage_became": ("去向", "Became"),
    "plan_lineage_now": ("现由以下网格承接", "Its area is now in"),
    "plan_lineage_none": ("无变更记录", "No change recorded"),
    "plan_lineage_split": ("拆分", "split"),
    "plan_lineage_merge": ("合并", "merge"),
    "plan_lineage_recode": ("重新编码", "re-coded"),
    "plan_lineage_bad": ("请输入由数字组成的网格编码", "Type a grid code (digits)"),
    "plan_lineage_unknown": ("没有编码为 {code} 的网格或沿革记录",
                             "No grid or lineage with code {code}"),
    "plan_open_grid": ("在地图上打开", "Open on the map"),
    "plan_focus": ("层级检查发现的问题", "Problem found by the hierarchy check"),
    "plan_focus_gone": ("该问题已不存在（可能已修正）",
                        "This problem is no longer found (fixed?)"),
    "plan_back_check": ("返回检查结果", "Back to the check"),
    "plan_check_title": ("网格层级检查", "Grid hierarchy check"),
    "plan_check_root": ("检查范围", "Scope"),
    "plan_check_all": ("我的全部管辖范围", "My whole jurisdiction"),
    "plan_check_run": ("检查", "Check"),
    "plan_checking": ("正在检查…", "Checking…"),
    "plan_check_summary": ("已检查 {grids} 个网格：问题 {errors} 个，户数警告 "
                           "{warnings} 条，细小碎片 {slivers} 处",
                           "{grids} grids checked: "
                           "{errors} problem(s), {warnings} household warning(s), "
                           "{slivers} sliver(s)"),
    "plan_check_clean": ("没有发现问题", "No problem found"),
    "plan_kind_invalid_geometry": ("几何图形无效", "Invalid geometry"),
    "plan_kind_code_prefix": ("编码未以上级编码开头", "Code not under its parent's"),
    "plan_kind_level": ("层级不符", "Wrong level"),
    "plan_kind_overlap": ("相互重叠", "Overlaps"),
    "plan_kind_gap": ("空隙", "Gaps"),
    "plan_kind_outside_parent": ("超出上级网格", "Outside the parent"),
    "plan_kind_households": ("户数不在 50–100 户之间", "Households not 50–100"),
    "plan_kind_warnings": ("保存时留下的户数警告", "Household warnings left by saves"),
    "plan_kind_slivers": ("细小碎片（不计为问题）",
                          "Slivers (not counted as problems)"),
    "plan_show_on_map": ("在地图上查看", "Show on the map"),
    "plan_recount": ("重新统计户数", "Recount households"),
    "plan_recounted": ("已重新统计 {n} 个微网格，清除警告 {cleared} 条",
                       "{n} micro-grid(s) recounted, {cleared} warning(s) cleared"),
    "filter": ("筛选", "Filter"),
    "all": ("全部", "all"),
    "action": ("操作", "Action"),
    "table": ("对象", "Table"),
    "key": ("编号", "Key"),
    "change": ("变更", "Change"),
    "geometry_changed": ("几何图形已变更", "geometry changed"),
    # the audit log's actions (layers/audit.ACTIONS) and tables, /admin/audit
    "audit_action_create": ("新建", "create"),
    "audit_action_update": ("修改", "update"),
    "audit_action_delete": ("删除", "delete"),
    "audit_action_read": ("查阅", "read"),
    "audit_action_login": ("登录", "login"),
    "audit_action_token": ("签发令牌", "token"),
    "audit_action_import": ("导入", "import"),
    "audit_action_load": ("载入", "load"),
    "audit_table_users": ("用户", "users"),
    "audit_table_api_tokens": ("API 令牌", "api_tokens"),
    "audit_table_grids": ("网格", "grids"),
    "audit_table_households": ("住户", "households"),
    "audit_table_cameras": ("视频监控", "cameras"),
    "audit_table_incidents": ("事件", "incidents"),
    "audit_table_incident_photos": ("事件照片", "incident_photos"),
    "audit_table_incident_parties": ("事件当事人", "incident_parties"),
    "audit_table_imports": ("导入记录", "imports"),
    "audit_table_database": ("数据库", "database"),
    "audit_table_staff": ("网格人员", "staff"),
    "audit_table_tracks": ("巡查轨迹", "tracks"),
    "audit_table_track_points": ("巡查定位点", "track_points"),
    "audit_table_visits": ("入户走访", "visits"),
    "audit_table_devices": ("手机设备", "devices"),
    "audit_table_judgement_items": ("研判事项", "judgement_items"),
    "audit_table_judgement_tasks": ("研判跟进任务", "judgement_tasks"),
    "audit_table_judgement_levels": ("研判层级", "judgement_levels"),
    "since": ("起", "From"),
    "nav_users": ("用户管理", "Users"),
    # the jobs and webhooks page (/admin/jobs)
    "nav_jobs": ("后台任务", "Jobs"),
    "jobs_title": ("后台任务与推送", "Background jobs and webhooks"),
    "jobs_failed_count": ("失败的任务", "Failed jobs"),
    "jobs_recent": ("最近的任务", "Recent jobs"),
    "jobs_none": ("没有任务", "No jobs"),
    "job_task": ("任务", "Task"),
    "job_status": ("状态", "Status"),
    "job_runs": ("执行次数", "Runs"),
    "job_changed": ("最近变化", "Last change"),
    "job_detail": ("详情", "Detail"),
    "job_retry": ("重试", "Retry"),
    "job_retried": ("已重新排队", "Queued again"),
    "job_task_gridgov.deliver_webhook": ("推送事件", "webhook delivery"),
    "job_task_gridgov.purge_expired": ("每日清理过期数据", "daily purge"),
    "job_status_todo": ("待执行", "to do"),
    "job_status_doing": ("执行中", "running"),
    "job_status_succeeded": ("成功", "succeeded"),
    "job_status_failed": ("失败", "failed"),
    "job_status_cancelled": ("已取消", "cancelled"),
    "job_status_aborting": ("中止中", "aborting"),
    "job_status_aborted": ("已中止", "aborted"),
    "delivery_status_pending": ("待推送", "pending"),
    "delivery_status_retrying": ("重试中", "retrying"),
    "delivery_status_delivered": ("已送达", "delivered"),
    "delivery_status_failed": ("推送失败", "delivery failed"),
    "webhooks_title": ("推送地址（Webhook）", "Webhooks"),
    "webhooks_hint": ("事件登记、提级、办结、评价等变化会签名推送到这些地址",
                      "incident changes (registered, escalated, closed, evaluated …) "
                      "are POSTed, signed, to these URLs"),
    "webhooks_none": ("尚未登记推送地址", "No webhooks yet"),
    "webhook_url": ("推送地址", "URL"),
    "webhook_events": ("事件", "Events"),
    "webhook_counts": ("已送达 / 待推送 / 失败", "Delivered / pending / failed"),
    "webhook_secret": ("共享密钥（留空自动生成）",
                       "Shared secret (empty: made for you)"),
    "webhook_grid": ("覆盖网格编码（留空为您的管辖范围）",
                     "Grid code covered (empty: your jurisdiction)"),
    "webhook_new": ("登记推送地址", "Register a webhook"),
    "webhook_created": ("已登记。共享密钥只显示这一次，请交给接收方：",
                        "Registered. The shared secret is shown this once; give it "
                        "to the receiver:"),
    "webhook_event_registered": ("受理登记", "registered"),
    "webhook_event_dispatched": ("审核分流", "dispatched"),
    "webhook_event_escalated": ("提级", "escalated"),
    "webhook_event_closed": ("办结", "closed"),
    "webhook_event_evaluated": ("考核评价", "evaluated"),
    "webhook_event_reopened": ("重新办理", "reopened"),
    "users_title": ("用户与令牌", "Users and API tokens"),
    "role": ("角色", "Role"),
    "jurisdiction": ("管辖网格", "Jurisdiction"),
    "everywhere": ("全域", "everywhere"),
    "last_login": ("最近登录", "Last login"),
    "state": ("状态", "State"),
    "active": ("启用", "active"),
    "disabled": ("已停用", "disabled"),
    "disable": ("停用", "Disable"),
    "enable": ("启用", "Enable"),
    "new_password": ("新密码", "new password"),
    "set_password": ("设置密码", "Set password"),
    "token_label": ("令牌用途", "Token label"),
    "new_token": ("生成令牌", "New token"),
    "tokens": ("接口令牌", "API tokens"),
    "device_tokens": ("已登录的手机", "Phones logged in"),
    "expires": ("到期", "Expires"),
    "last_used": ("最近使用", "Last used"),
    "revoke": ("吊销", "Revoke"),
    "new_user": ("新建用户", "New user"),
    "create": ("创建", "Create"),
    "user_created": ("用户已创建", "User created"),
    "user_updated": ("用户已更新", "User updated"),
    "user_unchanged": ("未作更改", "Nothing changed"),
    "change_access": ("修改角色与管辖网格", "Change role and jurisdiction"),
    "grid_picker_search": ("输入网格名称查找", "Type a grid's name"),
    "grid_picker_none": ("您可授予的网格中没有这个名称",
                         "No grid you may grant has this name"),
    "grid_picker_choose": ("请在下方按名称选择管辖网格", "Pick a grid by name below"),
    "grid_picker_everywhere": ("设为全域（整个系统）", "Make it the whole deployment"),
    "grid_gone": ("网格已不存在", "the grid no longer exists"),
    "orphaned_title": ("管辖网格已不存在的账号",
                       "Accounts whose grid no longer exists"),
    "orphaned_hint": ("这些账号的网格已被合并或撤销，管辖范围内已没有任何网格，"
                      "系统不会自动扩大其范围：请逐一重新分配。",
                      "Their grid was merged away or removed, so their jurisdiction "
                      "holds no grid; they are never widened on their own: "
                      "reassign each."),
    "orphaned_old": ("原网格", "Former grid"),
    "orphaned_now": ("现并入", "Now part of"),
    "orphaned_unknown": ("无记录", "not recorded"),
    "reassign": ("重新分配", "Reassign"),
    "reassign_to": ("改为", "Move to"),
    "user_unlocked": ("账号已解锁，失败登录记录已清零",
                      "Unlocked: failed logins forgotten"),
    "unlock": ("解锁", "Unlock"),
    "locked": ("已锁定（登录失败过多）", "locked (failed logins)"),
    "login_failures": ("近一小时登录失败", "failed logins, last hour"),
    "token_created": ("新令牌（仅显示一次，请妥善保存）", "New token (shown once)"),
    "token_revoked": ("令牌已吊销", "Token revoked"),
    "until": ("止", "To"),
    # the upload page /import (web/import_page.py, web/static/import.js)
    "nav_import": ("数据导入", "Import"),
    "import_title": ("数据导入", "Data import"),
    "import_intro": ("上传外业采集的文件：先预览，核对无误后再导入。"
                     "同一文件不会重复导入，整批导入要么全部成功，要么不写入任何数据。",
                     "Upload field data: preview first, then import. The same file is "
                     "not imported twice, and an import is all or nothing."),
    "import_file": ("文件", "File"),
    "import_formats": ("CSV、XLSX、GPX、GeoJSON、KML/KMZ、Shapefile（zip）、GeoPackage",
                       "CSV, XLSX, GPX, GeoJSON, KML/KMZ, zipped Shapefile, "
                       "GeoPackage"),
    "import_layer": ("导入到", "Into"),
    "import_staff_note": ("轨迹归属的网格员", "Whose patrol track this is"),
    "import_need_staff": ("请先选择网格员", "Choose the grid worker first"),
    "import_check": ("网格层级检查", "Hierarchy check"),
    "import_moved": ("改变所属微网格：", "Moved to another micro-grid:"),
    "import_track_days": ("轨迹日期（点数）：", "Track days (points):"),
    "import_change_added": ("新增", "new"),
    "import_change_updated": ("更新", "updated"),
    "import_change_unchanged": ("未变", "unchanged"),
    "import_crs": ("坐标系", "Coordinate system"),
    "import_crs_wgs84": ("WGS-84（GPS）", "WGS-84 (GPS)"),
    "import_crs_cgcs2000": ("CGCS2000（国家2000）", "CGCS2000"),
    "import_crs_gcj02": ("GCJ-02（高德·腾讯）", "GCJ-02 (Amap, Tencent)"),
    "import_crs_bd09": ("BD-09（百度）", "BD-09 (Baidu)"),
    "import_crs_epsg": ("EPSG 代码", "EPSG code"),
    "import_crs_note": ("文件自带坐标系时以文件为准", "A CRS given in the file wins"),
    "import_mapping": ("字段对应（可选）", "Column mapping (optional)"),
    "import_mapping_hint": ("如 address=地址,size=人口；留空则按列名自动识别",
                            "e.g. address=地址,size=人口; blank: guessed from the "
                            "column names"),
    "import_address_match": ("编号新、地址已有（住户）",
                             "New id at a known address (households)"),
    "import_address_match_add": ("作为新住户添加", "add as a new household"),
    "import_address_match_update": ("更新同址住户", "update that household"),
    "import_address_match_skip": ("跳过该行", "skip the row"),
    "import_address_match_note": ("没有编号列时按地址匹配：同一微网格内同址即更新",
                                  "Without an id column rows match by address "
                                  "within their micro-grid"),
    "import_new_area": ("确认新辖区（网格）", "Confirm a new area (grids)"),
    "import_new_area_note": ("一级网格距现有辖区 2 km 以上时需勾选",
                             "Needed for a level-1 grid more than 2 km from the "
                             "deployment"),
    "import_commit": ("导入", "Import"),
    "import_force": ("仍然导入", "Import anyway"),
    "import_choose_file": ("请先选择文件", "Choose a file first"),
    "import_bad_epsg": ("请填写 EPSG 代码（数字，如 4528）",
                        "Enter an EPSG code (a number such as 4528)"),
    "import_uploading": ("正在上传… {pct}%", "Uploading… {pct}%"),
    "import_checking": ("正在读取并检查…", "Reading and checking…"),
    "import_progress": ("{phase}… {rows}（已用 {seconds} 秒）",
                        "{phase_en}… {rows_en} ({seconds} s so far)"),
    "import_progress_rows": ("{n} 行", "{n} rows"),
    "import_phase_waiting": ("等待服务器", "Waiting for the server"),
    "import_phase_reading": ("正在读取文件", "Reading the file"),
    "import_phase_checking": ("正在检查各行", "Checking the rows"),
    "import_phase_assigning": ("正在分配网格", "Finding the grids"),
    "import_phase_writing": ("正在写入", "Writing"),
    "import_phase_inserting": ("正在写入数据库", "Inserting"),
    "import_phase_indexing": ("正在建立索引", "Building the indexes"),
    "import_phase_done": ("正在完成", "Finishing"),
    # `gridgov import`: whole lines say both languages; a label (…：) is
    # followed by what is already bilingual or needs no words (lists, codes)
    "cli_rows": ("{n} 行，{s} 秒", "{n} rows, {s} s"),
    "cli_refused": ("拒绝导入", "refused"),
    "cli_dry_run": ("试运行，未写入任何数据", "dry run, nothing written"),
    "cli_import_no": ("第 {id} 次导入", "import #{id}"),
    "cli_file": ("{format}{encoding}，坐标系 {crs}（{source}）",
                 "{format}{encoding}, crs {crs} ({source})"),
    "cli_columns": ("列", "columns"),
    "cli_warning": ("提示", "warning"),
    "cli_counts": ("读取 {read} 行：新增 {added}，更新 {updated}，未变 {unchanged}，"
                   "拒绝 {rejected}",
                   "read {read}: added {added}, updated {updated}, unchanged "
                   "{unchanged}, rejected {rejected}"),
    "cli_moved": ("改属其他微网格", "moved to another micro-grid"),
    "cli_new_area": ("新辖区：一级网格 {code} {name}，位于现有辖区以{dir_zh}约 {km} km",
                     "new area: level-1 grid {code} {name}, about {km} km "
                     "{dir} of the deployment"),
    "cli_tracks": ("网格员 {staff} 的巡查轨迹：保存 {stored} 条",
                   "tracks of staff {staff}: {stored} stored"),
    "cli_day": ("{n} 个点", "{n} points"),
    "cli_check": ("检查", "check"),
    "cli_more": ("另有 {n} 行被拒绝", "and {n} more rejected rows"),
    # the other `gridgov` commands' status lines, each a whole line 中文（English）;
    # a value that has words is given as (中文, English) (web.cli_common.line)
    "cli_no_cluster_to_start": ("已设置 GRIDGOV_DATABASE_URL：没有私有集群可启动",
                                "GRIDGOV_DATABASE_URL is set: no private cluster "
                                "to start"),
    "cli_no_cluster_to_stop": ("已设置 GRIDGOV_DATABASE_URL：没有私有集群可停止",
                               "GRIDGOV_DATABASE_URL is set: no private cluster "
                               "to stop"),
    "cli_db_running": ("数据库运行中：{url}", "database running: {url}"),
    "cli_db_stopped": ("数据库已停止", "database stopped"),
    "cli_db_not_running": ("数据库本未运行", "database was not running"),
    "cli_db_url": ("数据库地址：{url}（GRIDGOV_DATABASE_URL）",
                   "url: {url} (GRIDGOV_DATABASE_URL)"),
    "cli_db_postgis": ("PostGIS 版本：{version}", "postgis: {version}"),
    "cli_db_no_postgis": ("数据库未安装 PostGIS",
                          "postgis: not installed in the database"),
    "cli_db_pending": ("待应用的迁移：{names}", "pending migrations: {names}"),
    "cli_db_none_pending": ("没有待应用的迁移", "pending migrations: none"),
    "cli_db_dataset": ("数据集：{dataset}", "dataset: {dataset}"),
    "cli_db_no_dataset": ("数据库中没有数据集", "dataset: none"),
    "cli_replica_external": ("已设置 GRIDGOV_DATABASE_URL：其副本用 "
                             "GRIDGOV_READ_DATABASE_URL 指定（逗号分隔）",
                             "GRIDGOV_DATABASE_URL is set: name its replicas in "
                             "GRIDGOV_READ_DATABASE_URL (comma-separated)"),
    "cli_replica_added": ("只读副本 {number} 运行中：{url}",
                          "read replica {number} running: {url}"),
    "cli_replica_removed": ("只读副本 {number} 已删除",
                            "read replica {number} removed"),
    "cli_replica_none": ("没有只读副本", "no read replicas"),
    "cli_replica_row": ("只读副本 {number}：{state}，端口 {port}，{url}",
                        "read replica {number}: {state}, port {port}, {url}"),
    "cli_replicas_reading": ("只读副本 {count} 个：地图、瓦片、统计、搜索和定位"
                             "从副本读取",
                             "{count} read replica(s): maps, tiles, statistics, "
                             "search and locate read there"),
    "cli_partitions_header": ("按区县的分区：表、分区、区县（空为默认分区）、约行数、"
                              "MB、月分区数",
                              "county partitions: table, partition, county (blank: "
                              "DEFAULT), ~rows, MB, months"),
    "cli_partitions_settled": ("已从默认分区移出的区县分区：{names}",
                               "county partitions made from DEFAULT: {names}"),
    "cli_partitions_months": ("新建轨迹点月分区 {n} 个",
                              "track point months made: {n}"),
    "cli_partitions_dropped": ("已删除的轨迹点月分区：{names}",
                               "track point months dropped: {names}"),
    "cli_partitions_archived": ("已分离归档的分区：{names}",
                                "partitions detached for the archive: {names}"),
    "err_partition_before": ("before 须为日期", "before must be a date"),
    "err_partition_county": ("区县代码须为 6 位数字：{value}",
                             "a county code is six digits: {value}"),
    "err_partition_county_grids": ("区县 {county} 仍有网格，不能归档",
                                   "county {county} still has grids: it cannot be "
                                   "archived"),
    "err_partition_referred": ("分区 {name} 仍被其他记录引用（{detail}）",
                               "partition {name} is still referred to ({detail})"),
    "err_partition_exists": ("分区 {name} 已存在", "partition {name} exists already"),
    "cli_migrated": ("已应用迁移：{names}", "applied: {names}"),
    "cli_up_to_date": ("数据库结构已是最新", "schema up to date"),
    "cli_reset_confirm": ("删除 {url} 中的全部数据？", "Drop all data in {url}?"),
    "cli_reset_done": ("已重建数据库结构：{names}", "schema recreated: {names}"),
    "cli_demo_generating": (
        "正在生成演示数据 {scale}（种子 {seed}，as of {as_of}：事件截至 {last}；"
        "再次生成同样的数据：gridgov demo --scale {scale} --seed {seed} "
        "--as-of {as_of}）…",
        "generating the demo {scale} (seed {seed}, as of {as_of}: incidents up to "
        "{last}; the same again: gridgov demo --scale {scale} --seed {seed} "
        "--as-of {as_of}) …"),
    "cli_demo_loaded": ("已载入：{counts}（生成用时 {generated} 秒，载入用时 "
                        "{loaded} 秒）",
                        "loaded: {counts} (generated in {generated} s, loaded in "
                        "{loaded} s)"),
    "cli_demo_province": (
        "正在逐县生成并载入演示省：{counties} 个县（种子 {seed}，as of {as_of}："
        "事件截至 {last}；中断后再次运行同一命令，从未载入的县继续：gridgov demo "
        "--scale province --counties {counties} --seed {seed} --as-of {as_of}）…",
        "generating and loading the demo province county by county: {counties} "
        "counties (seed {seed}, as of {as_of}: incidents up to {last}; if "
        "interrupted, the same command again goes on from the counties not loaded: "
        "gridgov demo --scale province --counties {counties} --seed {seed} "
        "--as-of {as_of}) …"),
    "cli_demo_county": (
        "县 {n}/{total} {code} {name}：{households} 户，{incidents} 起事件（生成 "
        "{generated} 秒，载入 {loaded} 秒；进程内存峰值 {peak} MB）",
        "county {n}/{total} {code} {name}: {households} households, {incidents} "
        "incidents (generated in {generated} s, loaded in {loaded} s; the "
        "process's peak memory {peak} MB)"),
    "cli_demo_county_skipped": ("县 {n}/{total} {code} {name}：已载入，跳过",
                                "county {n}/{total} {code} {name}: loaded already, "
                                "skipped"),
    "cli_demo_province_loaded": (
        "演示省已载入：本次载入 {loaded} 个县，跳过已载入的 {skipped} 个（用时 "
        "{seconds} 秒）",
        "the demo province is loaded: {loaded} counties loaded now, {skipped} "
        "loaded before skipped (in {seconds} s)"),
    "cli_demo_accounts": ("演示账号（只显示这一次；用 `gridgov user passwd NAME` "
                          "修改密码）",
                          "demo accounts (shown once; `gridgov user passwd NAME` "
                          "to change)"),
    "cli_demo_old": ("注意：演示数据的事件截至 {last}，各页面打开的是最近一个完整月份；"
                     "`gridgov demo --seed {seed}` 可重新生成到今天（账号保留）",
                     "note: the demo's incidents end on {last}: the pages open on "
                     "the last complete month; `gridgov demo --seed {seed}` "
                     "generates it again up to today (the accounts stay)"),
    "cli_plain_http": ("警告：{host} 以明文 HTTP 提供服务：手机只对 HTTPS 页面提供"
                       "定位、相机和离线使用（请用 --cert 与 --key）",
                       "warning: serving {host} over plain HTTP: phones give GPS, "
                       "the camera and offline use only to HTTPS pages (use --cert "
                       "and --key)"),
    "cli_serving": ("gridgov 服务地址 {url}（{processes} 个工作进程 × {threads} "
                    "个线程；按 Ctrl-C 停止）",
                    "gridgov serving at {url}  ({processes} worker "
                    "{process_word} × {threads} threads; Ctrl-C to stop)"),
    "cli_user_created": ("已创建用户 {name}（{role}，{grid}）{staff}",
                         "user {name} created ({role}, {grid}){staff}"),
    "cli_user_staff": ("，网格人员 {staff}", ", staff {staff}"),
    "cli_user_linked": ("用户 {name} 已关联网格人员 {staff}",
                        "user {name} linked to staff {staff}"),
    "cli_user_unlinked": ("用户 {name} 已解除与网格人员的关联", "user {name} unlinked"),
    "cli_user_access": ("用户 {name}：{role}，{grid}", "user {name}: {role}, {grid}"),
    "cli_user_access_same": ("用户 {name}：{role}，{grid}（未变）",
                             "user {name}: {role}, {grid} (unchanged)"),
    "cli_password_changed": ("用户 {name} 的密码已修改", "password of {name} changed"),
    "cli_user_disabled": ("用户 {name} 已停用，其令牌已吊销",
                          "user {name} disabled; its tokens are revoked"),
    "cli_user_enabled": ("用户 {name} 已启用", "user {name} enabled"),
    "cli_user_unlocked": ("用户 {name} 已解锁", "user {name} unlocked"),
    "cli_token_for": ("{name} 的 API 令牌（只显示这一次，请妥善保管）",
                      "API token for {name} (shown once, keep it safe)"),
    "cli_token_revoked": ("令牌 {id} 已吊销", "token {id} revoked"),
    "cli_grid_gone": ("网格已不存在{now}", "grid gone{now}"),
    "cli_grid_now_in": ("，现属 {codes}", ", now in {codes}"),
    "cli_check_error": ("错误", "error"),
    "cli_check_sliver": ("碎片", "sliver"),
    "cli_check_under": ("{root} 之下", "under {root}"),
    "cli_check_everything": ("全部", "(everything)"),
    "cli_check_summary": ("已检查{where}的 {grids} 个网格：{errors} 个错误，"
                          "{slivers} 处碎片（小于 {m2} m²）",
                          "{grids} grids checked {where}: {errors} error(s), "
                          "{slivers} sliver(s) under {m2} m²"),
    # `gridgov jobs run`: the batch jobs on Dask (web/cli_jobs.py)
    "batch_cluster_local": ("本机 Dask 集群：{n} 个工作进程",
                            "local Dask cluster: {n} worker processes"),
    "batch_cluster_remote": ("Dask 调度器 {address}：{n} 个工作进程",
                             "Dask scheduler {address}: {n} workers"),
    "batch_dashboard": ("Dask 仪表盘：{link}", "Dask dashboard: {link}"),
    "batch_cut": ("{n} 个分区：{how}，另一个收其余编码",
                  "{n} partitions: {how}, and one for the codes under none of them"),
    "batch_by": ("按{level}（{k} 位）{n} 个", "{n} by {level} ({k} digits)"),
    "batch_level_6": ("区县", "county"),
    "batch_level_9": ("乡镇", "town"),
    "batch_level_12": ("村社区", "village"),
    "batch_done": ("{job} 完成：{parts} 个分区，读取 {rows} 行，写入 {written} 行，"
                   "用时 {seconds} 秒", "{job} done: {parts} partitions, {rows} rows "
                   "read, {written} written, {seconds} s"),
    "batch_output": ("结果已写入 {path}", "results written to {path}"),
    "import_previewed": ("预览完成，尚未写入任何数据：核对后点击“导入”。",
                         "Preview only, nothing written yet: check it, then press "
                         "Import."),
    "import_previewed_force": ("此文件曾导入过：核对预览后点击“导入”将再次导入。",
                               "This file was imported before: check the preview, "
                               "then Import imports it again."),
    "import_nothing": ("没有可导入的行。", "No row can be imported."),
    "import_done": ("导入完成（第 {id} 号导入）", "Imported (import #{id})"),
    "import_conflict": ("此文件已导入过", "This file was imported before"),
    "import_failed": ("无法导入", "Cannot import"),
    "import_too_large": ("文件过大", "The file is too large"),
    "import_stale": ("文件或选项已更改，请重新预览。",
                     "The file or the options changed: preview again."),
    "import_result_preview": ("预览结果", "Preview"),
    "import_result_done": ("导入结果", "Result"),
    "import_read": ("读取", "Read"),
    "import_will_add": ("将新增", "To add"),
    "import_will_update": ("将更新", "To update"),
    "import_added": ("新增", "Added"),
    "import_updated": ("更新", "Updated"),
    "import_unchanged": ("无变化", "Unchanged"),
    "import_rejected": ("未通过", "Rejected"),
    "import_detected": ("识别结果", "Detected"),
    "import_format": ("格式", "Format"),
    "import_encoding": ("编码", "Encoding"),
    "import_columns": ("字段对应", "Columns"),
    "import_coordinates": ("经度 / 纬度", "Longitude / latitude"),
    "import_warnings": ("提示", "Warnings"),
    "import_rows": ("前 {n} 行（通过检查）", "First {n} accepted rows"),
    "import_rejected_rows": ("未通过的行", "Rejected rows"),
    "import_rejected_more": ("仅列出前 {n} 行，完整列表请下载。",
                             "The first {n} are listed: download them all."),
    "import_row": ("行号", "Row"),
    "import_field": ("字段", "Field"),
    "import_value": ("值", "Value"),
    "import_reason": ("原因", "Reason"),
    "import_grid": ("微网格", "Micro-grid"),
    "import_change": ("变化", "Change"),
    "import_download": ("下载未通过的行（CSV）", "Download the rejected rows (CSV)"),
    "import_map_note": ("地图：通过检查的点（圆点）及其所在微网格，被拒绝的行（红点）",
                        "Map: the accepted points (dots) and their micro-grids, "
                        "the rejected rows (red)"),
    "import_recent": ("最近的导入", "Recent imports"),
    "import_counts": ("新增 / 更新 / 无变化 / 未通过",
                      "Added / updated / unchanged / rejected"),
    "import_none": ("暂无导入记录", "No imports yet"),
    # the leaders' ranking page /rankings (web/rankings.py)
    "rank_nav": ("月度排名", "Rankings"),
    "reports_nav": ("月报", "Monthly reports"),
    "reports_title": ("安全稳定月报分析", "Monthly safety and stability reports"),
    "reports_intro": ("每个镇街、村社区一份；Word 版可在 WPS 或 Word 中修改后印发。",
                      "One per town and village; edit the Word file in WPS or Word "
                      "before it goes out."),
    "reports_show": ("列出", "List"),
    "reports_download": ("下载", "Download"),
    "reports_word": ("Word 版", "Word"),
    "reports_pdf": ("PDF 版", "PDF"),
    # the recurring disputes page /disputes (web/disputes_page.py)
    "disputes_nav": ("重点关注", "Recurring disputes"),
    "disputes_title": ("矛盾纠纷重点关注", "Recurring disputes"),
    "disputes_intro": ("同一住户、同一地址或同一对当事人 {days} 天内发生 {count} "
                       "起及以上矛盾纠纷的，列为重点关注。",
                       "The same household, address or pair of parties with "
                       "{count} disputes or more within {days} days."),
    "disputes_none": ("暂无重点关注", "No recurring dispute"),
    "disputes_kind_household": ("同一住户", "Same household"),
    "disputes_kind_address": ("同一地址", "Same address"),
    "disputes_kind_parties": ("同一对当事人", "Same parties"),
    "disputes_count": ("{n} 起", "{n} disputes"),
    "disputes_address": ("地址", "Address"),
    "disputes_handled_by": ("处置人", "Handled by"),
    "disputes_outcome": ("结果", "Outcome"),
    "disputes_last_visit": ("最近走访", "Last visit"),
    "disputes_visit_due": ("待走访", "Visit due"),
    "disputes_never": ("从未", "never"),
    # the 研判 items page /judgements (web/judgements_page.py) and the levels on
    # /admin/users; the words of layers/judgements.py
    "jd_nav": ("研判", "Assessment"),
    "jd_title": ("研判事项", "研判 items"),
    "jd_intro": ("本辖区的研判事项：有超期任务的在前，其余按已开天数，久者在前。",
                 "The 研判 items of your jurisdiction: those with overdue tasks "
                 "first, then the oldest."),
    "jd_status_open": ("研判中", "open"),
    "jd_status_resolved": ("已化解", "resolved"),
    "jd_status_escalated": ("已提级", "escalated"),
    "jd_status_all": ("全部事项", "all items"),
    "jd_task_open": ("未完成", "open"),
    "jd_task_done": ("已完成", "done"),
    "jd_town_level": ("街镇", "Town"),
    "jd_title_warning": ("{grid}{category}预警研判", "{grid}: {category} warning"),
    "jd_title_incidents": ("{n} 起事件研判（{first} 等）",
                           "{n} incident(s) ({first} …)"),
    "jd_level": ("研判层级", "研判 level"),
    "jd_age": ("已开天数", "Days open"),
    "jd_open_tasks": ("未完成任务", "Open tasks"),
    "jd_overdue_tasks": ("超期任务", "Overdue tasks"),
    "jd_meeting_on": ("研判会日期", "Meeting"),
    "jd_meeting_pending": ("待开会", "to be held"),
    "jd_participants": ("参会人员", "Participants"),
    "jd_assessment": ("研判意见", "Assessment"),
    "jd_decisions": ("决定事项", "Decisions"),
    "jd_tasks": ("跟进任务", "Follow-up tasks"),
    "jd_owner": ("责任人", "Owner"),
    "jd_mark_done": ("标记完成", "Mark done"),
    "jd_escalate": ("提级研判", "Escalate"),
    "jd_escalate_reason": ("提级理由", "Why it goes up"),
    "jd_resolve": ("化解办结", "Resolve"),
    "jd_resolution": ("化解结果", "Resolution"),
    "jd_escalated_from": ("下级事项", "From item"),
    "jd_escalated_to": ("上级事项", "Escalated to"),
    "jd_warning": ("预警", "Warning"),
    "jd_none": ("暂无研判事项", "No 研判 items"),
    "jd_levels_title": ("研判层级", "研判 levels"),
    "jd_levels_hint": ("街镇为第一级；其上各级（区综治中心、区委平安建设领导小组……）"
                       "在此设置：级次、覆盖的网格（通常为镇街，留空为全部辖区）和成员。"
                       "上级的研判事项只由该级成员办理。",
                       "The town is the first level; the levels above it (the "
                       "district centre, the leading group …) are set here: rank, "
                       "the grids covered (usually towns; empty: the whole "
                       "deployment) and members. Only a level's members handle its "
                       "items."),
    "jd_level_rank": ("级次", "Rank"),
    "jd_level_covers": ("覆盖网格", "Grids covered"),
    "jd_level_members": ("成员", "Members"),
    "jd_level_new": ("新增研判层级", "New 研判 level"),
    "jd_covers_hint": ("网格编码，逗号分隔；留空为全部辖区",
                       "grid codes, comma-separated; empty: the whole deployment"),
    "jd_members_hint": ("用户名，逗号分隔", "user names, comma-separated"),
    "reports_stored": ("已生成的月报", "Reports generated"),
    "reports_stored_intro": ("每月 1 日凌晨（北京时间）自动生成上月各镇街、"
                             "村社区的月报。",
                             "Generated early on the 1st (China time) for the month "
                             "before, for every town and village."),
    "reports_stored_none": ("暂无已生成的月报。", "No reports generated yet."),
    "reports_generated_at": ("生成于", "Generated at"),
    "reports_on_demand": ("按需生成", "Generate now"),
    "rank_title": ("网格月度排名", "Monthly grid ranking"),
    "rank_as_of": ("截至", "as of"),
    "rank_show": ("查询", "Show"),
    "rank_export": ("导出 Excel", "Export XLSX"),
    "rank_print": ("打印", "Print"),
    "rank_print_pdf": ("下载 PDF", "Download PDF"),
    "rank_print_png": ("下载 PNG", "Download PNG"),
    "rank_rank": ("排名", "Rank"),
    "rank_name": ("网格名称", "Name"),
    "rank_code": ("网格编码", "Code"),
    "rank_score": ("得分", "Score"),
    "rank_resolution": ("化解率", "Resolution"),
    "rank_timeliness": ("按期办结率", "On time"),
    "rank_coverage": ("视频覆盖率", "Coverage"),
    "rank_received": ("受理数", "Received"),
    "rank_resolved": ("化解数", "Resolved"),
    "rank_mom": ("环比", "Month on month"),
    "rank_yoy": ("同比", "Year on year"),
    "rank_avg_close_days": ("平均办结天数", "Mean days to close"),
    "rank_flagged": ("末位", "Bottom three"),
    "rank_busy": ("生成中…", "Preparing…"),
    "rank_download_failed": ("下载失败", "Download failed"),
    "rank_visit_rate": ("走访率", "Visit rate"),
    "rank_workers": ("网格员走访率", "Visit rate per grid worker"),
    "rank_visited": ("已走访住户", "Households visited"),
    "rank_visits": ("走访次数", "Visits"),
    "rank_workers_note": (
        "网格员走访率 = 本人本期走访过的本网格住户"
        " ÷ 本网格住户数，不计入得分。",
        "A worker's visit rate = households of their grid they visited themselves "
        "in the period ÷ the grid's households; not part of the score."),
    "rank_visit_note": (
        "走访率 = 本期入户走访过的住户 ÷ 住户数，不计入得分。",
        "Visit rate = households visited in the period ÷ households; "
        "not part of the score."),
    "rank_yes": ("是", "yes"),
    "rank_weights": ("得分 = 化解率×50% + 按期办结率×30% + 视频覆盖率×20%"
                     "（满分100；缺项不计，其余权重按比例放大）；后三名标为末位。",
                     "Score = resolution rate × 50% + on time × 30% + camera "
                     "coverage × 20% (out of 100; a missing part is left out and "
                     "the other weights scaled up); the last three are flagged."),
    "rank_coverage_unknown": ("视频覆盖率暂未计算，得分按化解率和按期办结率计。",
                              "Camera coverage is not computed yet: the score uses "
                              "the resolution rate and timeliness."),
    "rank_definitions": ("化解率 = 化解数（调解成功或已处置办结）÷ 受理数；"
                         "按期办结率 = 按期办结数 ÷ 应办结数（已办结或已超期）；"
                         "环比、同比为受理数的变化。",
                         "Resolution rate = resolved (closed as mediated or "
                         "handled) ÷ received; on time = closed by the deadline ÷ "
                         "due (closed or past the deadline); month-on-month and "
                         "year-on-year compare the numbers received."),
    "rank_map_title": ("得分分布", "Score map"),
    # the printed page only (layers/ranking_print.py)
    "rank_pdf_title": ("综治中心 月度排名", "Monthly ranking"),
    "rank_pdf_title_days": ("综治中心 排名", "Ranking"),
    "rank_pdf_everywhere": ("全辖区", "whole deployment"),
    "rank_pdf_table": ("排名表", "Ranking table"),
    "rank_pdf_omitted": ("从略，完整排名见 Excel 导出",
                         "omitted: the full ranking is in the XLSX export"),
    "rank_pdf_unranked": ("个网格无得分（本期无事件），未列出",
                          "grids without a score (no incident) not listed"),
    "rank_pdf_period": ("数据期间", "Data period"),
    "rank_pdf_generated": ("生成时间", "Generated"),
    # the grid notice, 网格公示牌 (layers/notice_print.py, /plan, /rankings)
    "notice_title": ("网格公示牌", "Grid notice"),
    "notice_print": ("打印公示牌", "Print notice"),
    "notice_print_all": ("打印本村公示牌", "Print the village's notices"),
    "notice_print_queued": ("共 {pages} 页，正在后台生成……",
                            "{pages} pages, being drawn in the background…"),
    "notice_print_progress": ("正在生成：{done}/{pages} 页",
                              "Drawing: {done} of {pages} pages"),
    "notice_print_ready": ("已生成，下载 PDF", "Ready: download the PDF"),
    "notice_print_failed": ("生成失败", "Could not be drawn"),
    "notice_map": ("网格范围", "Grid boundary"),
    "notice_people": ("网格力量及公示电话", "Grid staff and public phone numbers"),
    "notice_phone": ("公示电话", "Public phone"),
    "notice_phone_work": ("工作电话", "Work phone"),
    "notice_phone_other": ("其他号码", "Another number"),
    "notice_phone_none": ("不公示", "Not published"),
    "notice_hours": ("服务时间", "Service hours"),
    "notice_hours_unset": ("未填写", "not set"),
    "notice_hours_save": ("保存服务时间", "Save service hours"),
    "notice_saved": ("已保存", "Saved"),
    "notice_no_staff": ("暂无", "none yet"),
    "notice_more_staff": ("另有 {n} 人", "and {n} more"),
    "notice_neighbours": ("相邻网格", "Neighbouring grids"),
    "notice_roads": ("道路", "Roads"),
    "notice_water": ("水系", "Water"),
    "notice_printed": ("打印日期", "Printed"),
    "notice_centre": ("{town}综治中心", "{town} governance centre"),
    "rank_map_too_many": ("网格过多，地图未显示；请选择更小的范围。",
                          "Too many grids to map: choose a smaller area."),
    "rank_no_score": ("无得分", "no score"),
    "rank_empty": ("该范围内没有此层级的网格。",
                   "There is no grid of this level here."),
    # the month shown by the overview and /rankings (layers.stats.default_month)
    "month_to_date": ("本月截至 {day} 日", "this month to the {nth}"),
    "month_partial_note": ("本月未完：环比、同比与上月、去年同月的同期比较。",
                           "The month is not over: month on month and year on "
                           "year compare the same stretch of the month before "
                           "and of the same month a year earlier."),
    "month_no_data": ("本月无数据", "no data this month"),
    "month_no_data_note": ("本月无数据：不排名，不标末位，不作环比、同比。",
                           "No data this month: nobody is ranked or flagged, "
                           "nothing is compared."),
    "month_nc_none_then_mom": ("上月无数据", "no data the month before"),
    "month_nc_none_then_yoy": ("去年同期无数据", "no data a year earlier"),
    # the patrol tracks page /tracks (web/tracks.py)
    "tracks_from": ("起始日期", "From"),
    "tracks_to": ("截止日期", "To"),
    "tracks_show": ("查看", "Show"),
    "tracks_hint": ("每天的轨迹一种颜色，○ 起点 ● 终点；GPS 漂移点已剔除，不绘制；"
                    "最多查看 {days} 天。",
                    "One colour per day, ○ start ● end; GPS outliers are dropped "
                    "and not drawn; at most {days} days at once."),
    "tracks_none": ("辖区内暂无巡查轨迹。", "No patrol tracks in your jurisdiction."),
    "tracks_empty": ("所选日期内没有轨迹。", "No tracks on these days."),
    "tracks_failed": ("加载失败", "Loading failed"),
    "tracks_days": ("每日巡查", "Day by day"),
    "tracks_day": ("日期", "Day"),
    "tracks_distance": ("里程（公里）", "Distance (km)"),
    "tracks_duration": ("时长", "Duration"),
    "tracks_moving": ("移动时间", "Moving time"),
    "tracks_entered": ("进入的微网格", "Micro-grids entered"),
    "tracks_dropped": ("剔除漂移点", "Outliers dropped"),
    "tracks_coverage": ("巡查覆盖率", "Patrol coverage"),
    "tracks_week": ("{from} 至 {to}", "{from} to {to}"),
    "tracks_visited": ("已巡 {visited} / {own} 个微网格",
                       "{visited} of {own} micro-grids visited"),
    "tracks_not_visited": ("未巡：{codes}", "Not visited: {codes}"),
    "tracks_no_grids": ("无本人微网格", "No micro-grid of their own"),
    "tracks_start": ("起点 {time}", "Start {time}"),
    "tracks_end": ("终点 {time}", "End {time}"),
    "tracks_leg": ("{day} 第 {leg} 段：{km} 公里", "{day} leg {leg}: {km} km"),
    "tracks_own": ("本人微网格", "Own micro-grids"),
    "tracks_visited_grid": ("已巡查", "Visited"),
    "tracks_bad_window": ("起始日期须不晚于截止日期，且最多 {days} 天。",
                          "From must not be after To, and at most {days} days."),
    "tracks_replay": ("轨迹回放", "Track replay"),
    "tracks_replay_play": ("▶ 播放", "Play"),
    "tracks_replay_pause": ("❚❚ 暂停", "Pause"),
    "tracks_replay_speed": ("速度", "Speed"),
    "tracks_replay_speed_x": ("1 秒 = {n} 分钟", "1 s = {n} min"),
    "tracks_replay_slider": ("回放时刻", "Replay time"),
    "tracks_replay_rest": ("两段之间，停留", "between legs, not moving"),
}

# what the file readers tell the user (importers/; formerly importers/messages.py)
READERS = {
    # whole files (ImportRefused)
    "file_empty": ("文件是空的", "the file is empty"),
    "file_too_large": ("{what_zh}大小为 {size}，超过上限 {limit}",
                       "{what} is {size}, over the limit of {limit}"),
    "file_unreadable": ("无法读取 {name}", "cannot read {name}: {error}"),
    "file_not_binary": ("请以二进制模式打开文件，而非文本模式",
                        "give the file opened in binary mode, not as text"),
    "file_not_a_file": ("无法把 {kind} 当作文件读取",
                        "cannot read a {kind} as a file"),
    "mapping_unreadable": ("无法读取列映射“{part}”：请写成 目标=列，"
                           "如 address=地址,size=人口",
                           "cannot read the column mapping {part!r}: write "
                           "target=column, e.g. address=地址,size=人口"),
    "mapping_missing": ("列映射中的列不在文件中：{missing}；文件的列为：{columns}",
                        "the mapping names columns that are not in the file "
                        "({missing}); the columns are: {columns}"),
    "mapping_not_gpx": ("列映射中的列不是 GPX 文件的列：{unknown}；"
                        "可用的列为：{fields}",
                        "the mapping names columns a GPX file does not have "
                        "({unknown}); they are: {fields}"),
    "no_such_column": ("没有“{given}”列；文件的列为：{found}",
                       "there is no column {given!r}; the columns are: {found}"),
    "no_coordinate_columns": (
        "在各列中找不到{missing_zh}列：{found}；请将列命名为 经度/纬度 或 lon/lat"
        "，也可为 lng/lat、longitude/latitude、x/y，或指定 lon= 和 lat=",
        "no {missing} column found among the columns: {found}; name them "
        "经度/纬度 or lon/lat (or lng/lat, longitude/latitude, x/y), or give "
        "lon= and lat="),
    "csv_header": ("无法读取标题行", "cannot read the header line: {error}"),
    "csv_unreadable": ("无法按 CSV 读取该文件", "cannot read the file as CSV: {error}"),
    "encoding_given": ("无法按 {encoding} 解码该文件",
                       "cannot decode the file as {encoding}: {error}"),
    "encoding_unknown": ("文件不是 UTF-8、GBK 或 GB18030 文本，第 {byte} 字节不符合"
                         "任何一种：请另存为 UTF-8 CSV，或指定其编码",
                         "the file is not text in UTF-8, GBK or GB18030 (byte "
                         "{byte} fits none): save it as UTF-8 CSV, or give its "
                         "encoding"),
    "zip_nothing_readable": ("压缩包中没有 gridgov 能读取的 .kml、.shp 或工作簿，"
                             "其中有：{held}",
                             "the zip holds nothing gridgov reads (no .kml, .shp or "
                             "workbook; it holds: {held})"),
    "old_xls": ("旧版 Excel .xls 工作簿：请另存为 .xlsx 或 CSV",
                "an old Excel .xls workbook: save it as .xlsx or CSV"),
    "xml_root": ("根元素为 <{root}> 的 XML 文件，既非 GPX 也非 KML",
                 "an XML file whose root is <{root}>, neither GPX nor KML"),
    "unknown_format": ("{name_zh}的格式 gridgov 无法读取；可读取 CSV、XLSX、GPX、"
                       "GeoJSON、KML、KMZ、Shapefile、GeoPackage，及其 gzip 压缩文件",
                       "{name} is in a format gridgov does not read (CSV, XLSX, "
                       "GPX, GeoJSON, KML, KMZ, Shapefile, GeoPackage, each also "
                       "gzipped)"),
    "loose_shp": ("单独的 .shp 无法读取：请与其 .shx、.dbf、.prj 和 .cpg 文件一起"
                  "压缩成 zip",
                  "a loose .shp cannot be read alone: zip it with its .shx, .dbf, "
                  ".prj and .cpg files"),
    "unknown_crs": ("未知的坐标系“{text}”：请使用 {accepted}",
                    "unknown CRS {text!r}: use {accepted}"),
    # XML
    "xml_encoding": ("{what_zh}不是 {encoding} 文本，与其声明或 XML 的默认编码不符",
                     "the {what} is not text in {encoding}, as it says or XML "
                     "assumes ({error})"),
    "xml_entities": ("{what_zh}声明了 XML 实体，gridgov 拒绝此类文件：实体可用于"
                     "实体扩展攻击（“十亿笑”），而 GPS 文件从不需要实体",
                     "the {what} declares XML entities, which gridgov refuses: they "
                     "serve entity-expansion attacks (\"billion laughs\") and "
                     "nothing in a GPS file needs them"),
    "xml_external": ("{what_zh}引用了外部实体或 DTD，gridgov 拒绝此类文件：它们可能"
                     "读取服务器上的文件或访问网络",
                     "the {what} refers to external entities or a DTD, which "
                     "gridgov refuses: they can read files of the server or reach "
                     "the network"),
    "xml_unsafe": ("{what_zh}被判定为不安全的 XML，已拒绝",
                   "the {what} was refused as unsafe XML: {error}"),
    "xml_unreadable": ("{what_zh}无法按 XML 读取",
                       "the {what} cannot be read as XML: {error}"),
    "xml_broken": ("{what_zh}损坏或不完整：第 {line} 行第 {column} 列有 XML 错误",
                   "the {what} is broken or truncated (XML error at line {line}, "
                   "column {column}: {error})"),
    # zip archives
    "zip_broken": ("{what_zh}损坏或不完整",
                   "the {what} is broken or truncated: {error}"),
    "zip_too_big": ("{what_zh}解压后将达 {size}，超过上限 {limit}：已拒绝，"
                    "疑为 zip 炸弹",
                    "the {what} would unpack to {size}, over the limit of {limit}: "
                    "refused (a zip bomb?)"),
    "zip_ratio": ("{where_zh}的压缩比为 {ratio}:1，超过上限 {limit}:1：已拒绝，"
                  "疑为 zip 炸弹",
                  "{where} is compressed {ratio} to 1, over the limit of {limit} to "
                  "1: refused (a zip bomb?)"),
    "zip_outside": ("{what_zh}中的文件“{name}”位于其目录之外：已拒绝",
                    "the {what} holds a file outside its folder ({name!r}): refused"),
    "gzip_too_big": ("{what_zh}解压后超过上限 {limit}：已拒绝，疑为压缩炸弹",
                     "the {what} unpacks to more than {limit}: refused (a zip "
                     "bomb?)"),
    "gzip_ratio": ("{what_zh}解压后超过其自身大小的 {limit} 倍：已拒绝，疑为压缩炸弹",
                   "the {what} unpacks to more than {limit} times its size: "
                   "refused (a zip bomb?)"),
    "gzip_nested": ("{what_zh}中又是一个 gzip 文件：已拒绝，请只压缩一次",
                    "the {what} holds another gzip file: refused (compress once "
                    "only)"),
    "zip_member_lies": ("{name} 比 zip 目录所声明的更大：已拒绝",
                        "{name} is larger than the zip archive says: refused"),
    # formats
    "geojson_not_utf8": ("GeoJSON 文件不是 UTF-8 文本",
                         "the GeoJSON file is not UTF-8 text"),
    "geojson_broken": ("GeoJSON 文件损坏或不完整：第 {line} 行第 {column} 列",
                       "the GeoJSON file is broken or truncated (line {line}, "
                       "column {column}: {error})"),
    "geojson_no_features": ("FeatureCollection 没有 features 列表",
                            "the FeatureCollection has no list of features"),
    "geojson_top_type": ("不是 GeoJSON：顶层类型为 {kind!r}，而非 FeatureCollection、"
                         "Feature 或几何对象",
                         "not GeoJSON: the top-level type is {kind!r}, not a "
                         "FeatureCollection, a Feature or a geometry"),
    "geojson_crs_member": ("GeoJSON 的 crs 成员 {member} 无法识别：请写明坐标系名称，"
                           "或删除它并指定 crs=",
                           "the GeoJSON crs member {member} is not understood: give "
                           "a named CRS, or remove it and pass crs="),
    "gpx_unreadable": ("无法读取该 GPX 文件", "the GPX file cannot be read: {error}"),
    "gpx_empty": ("GPX 文件中没有航点、路线点或轨迹点",
                  "the GPX file holds no waypoint, route or track point"),
    "kml_empty": ("{fmt} 文件中没有 Placemark", "the {fmt} file holds no Placemark"),
    "kmz_no_kml": ("KMZ 文件中没有 .kml 文档，其中有：{held}",
                   "the KMZ file holds no .kml document (it holds: {held})"),
    "gpkg_not": ("不是 GeoPackage：它不是 SQLite 数据库",
                 "not a GeoPackage (it is not an SQLite database)"),
    "gpkg_unreadable": ("无法读取该 GeoPackage", "cannot read the GeoPackage: {error}"),
    "gpkg_several": ("GeoPackage 中有 {n} 个含几何的图层：请用 layer= 选择一个；"
                     "图层有：{listed}",
                     "the GeoPackage holds {n} layers with geometries; choose one "
                     "with layer= (the layers: {listed})"),
    "gpkg_no_layer": ("GeoPackage 中没有含几何的图层“{layer}”；图层有：{listed}",
                      "there is no layer {layer!r} with geometries in the "
                      "GeoPackage; the layers: {listed}"),
    "ogr_unreadable": ("无法读取该 {fmt_zh}", "cannot read the {fmt}: {error}"),
    "shp_too_large": ("shapefile {name} 大小为 {size}，超过上限 {limit}",
                      "the shapefile {name} is {size}, over the limit of {limit}"),
    "shp_needs_zip": ("shapefile 须为包含 .shp、.shx、.dbf 及 .prj、.cpg 的 zip "
                      "压缩包，或其 .shp 的路径",
                      "a shapefile comes as a .zip of its .shp, .shx, .dbf (and "
                      ".prj, .cpg) files, or as the path of its .shp"),
    "shp_none": ("压缩包中没有 .shp 文件，其中有：{held}",
                 "the zip holds no .shp file (it holds: {held})"),
    "shp_no_such": ("压缩包中没有 shapefile“{layer}”；其中有：{stems}",
                    "there is no shapefile {layer!r} in the zip; it holds: {stems}"),
    "shp_several": ("压缩包中有 {n} 个 shapefile：{stems}；请用 layer= 选择一个",
                    "the zip holds {n} shapefiles ({stems}): choose one with "
                    "layer="),
    "shp_sidecar": ("shapefile {stem} 缺少其 {ext} 文件",
                    "the shapefile {stem} lacks its {ext} file"),
    "xlsx_unreadable": ("无法读取该工作簿", "cannot read the workbook: {error}"),
    "xlsx_empty_sheet": ("工作表“{title}”是空的", "the sheet {title!r} is empty"),
    "xlsx_no_sheet": ("没有工作表“{sheet}”；工作表有：{names}",
                      "there is no sheet {sheet!r}; the sheets are: {names}"),
    # rejected rows
    "row_too_many_fields": ("该行的字段过多", "the line has too many fields ({why})"),
    "coordinate_empty": ("{column}为空", "{column} is empty"),
    "coordinate_unreadable": ("{column}“{raw}”既不是数字，也不是 116°23'17.5\"E "
                              "这样的角度",
                              "{column} {raw!r} is neither a number nor an angle "
                              "like 116°23'17.5\"E"),
    "no_geometry": ("该行没有几何图形，或几何图形为空",
                    "the row has no geometry (or an empty one)"),
    "geometry_invalid": ("几何图形无效：{reason_zh}",
                         "the geometry is not valid: {reason}"),
    "columns_swapped": ("各列似乎互换了：{what_zh}；请检查，或用 swap=True 按互换读取",
                        "the columns look swapped: {what}; check them or pass "
                        "swap=True"),
    "row_swapped": ("{at} 在中国境外，而 {back} 在境内：该行的纬度和经度似乎互换了",
                    "{at} lies outside China but {back} inside: latitude and "
                    "longitude look swapped in this row"),
    "not_degrees": ("{at} 不是经纬度，可能是投影坐标系的米：请指定坐标系，如 "
                    "crs=EPSG:4549",
                    "{at} are not degrees (metres of a projected CRS?): give the "
                    "CRS, e.g. crs=EPSG:4549"),
    "degrees_not_metres": ("{at} 看起来是经纬度，但 {key} 的单位是米：请指定正确的"
                           "坐标系，如 crs=wgs84、gcj02 …",
                           "{at} look like degrees, but {key} is in metres: give "
                           "the right CRS (crs=wgs84, gcj02, …)"),
    "not_transformable": ("{at} 无法从 {key} 转换：坐标系有误？",
                          "{at} cannot be transformed from {key}: a wrong CRS?"),
    "outside_china": ("{at}{fell_zh}不在中国境内，即东经 73–136°、北纬 3–54° 之外："
                      "坐标系有误或经纬度互换？",
                      "{at}{fell} outside China (73–136°E, 3–54°N): a wrong CRS or "
                      "swapped axes?"),
    "far_outside": ("{at} 远在本系统范围 {box} 之外，超出 {margin}° 以上：坐标系有误，"
                    "或是别处的点？",
                    "{at} is far outside the deployment's area ({box}, give or take "
                    "{margin}°): a wrong CRS, or a point from elsewhere?"),
    "geojson_not_feature": ("不是 GeoJSON Feature", "not a GeoJSON Feature"),
    "feature_no_geometry": ("该要素没有几何图形", "the feature has no geometry"),
    "geometry_unbuildable": ("{kind} 无法由其坐标构建",
                             "the {kind} cannot be built from its coordinates "
                             "({error})"),
    "kml_no_geometry": ("Placemark 没有几何图形", "the Placemark has no geometry"),
    "kml_no_outer": ("Polygon 没有外边界", "the Polygon has no outer boundary"),
    "kml_track_empty": ("gx:Track 没有 gx:coord", "the gx:Track has no gx:coord"),
    "kml_track_times": ("gx:Track 有 {when} 个 <when>，却有 {coord} 个 gx:coord："
                        "两者须一一对应",
                        "the gx:Track has {when} <when> but {coord} gx:coord: they "
                        "go in pairs"),
    "kml_part_empty": ("{kind} 为空", "the {kind} is empty"),
    "kml_no_coordinates": ("{kind} 没有坐标", "the {kind} has no coordinates"),
    "kml_bad_coordinates": ("坐标 {text!r} 不是 经度,纬度[,高程] 形式的数字",
                            "the coordinates {text!r} are not numbers lon,lat[,alt]"),
    # warnings and notes on the CRS
    "swapped_file": ("整个文件的经度和纬度似乎互换了：{what_zh}；全部 {total} 行被拒绝"
                     "，请检查各列，或用 swap=True 按互换读取",
                     "longitude and latitude look swapped in the whole file "
                     "({what}): all {total} rows rejected; check the columns, or "
                     "pass swap=True to read them the other way round"),
    "swapped_some": ("{n} 行的经度和纬度似乎互换了，已拒绝：请改正，或用 swap=True",
                     "{rows} like latitude and longitude swapped: rejected; fix "
                     "them, or pass swap=True"),
    "swapped_read": ("{n} 行的经度和纬度互换，已按 swap=True 互换读取",
                     "{rows} latitude and longitude swapped and were read the "
                     "other way round (swap=True)"),
    "several_columns": ("有多个{axis_zh}列：{columns}；使用了 {used}，可用 {option}= "
                        "选择其他列",
                        "several {axis} columns ({columns}): used {used}; give "
                        "{option}= to choose another"),
    "crs_hint": ("列名 {lon}/{lat} 表明坐标为 {hint}，但未指定 crs：已按 WGS-84 读取；"
                 "如确为 {hint}，请指定 crs={hint}",
                 "the columns {lon}/{lat} suggest {hint}, but no crs was given: "
                 "read as WGS-84; give crs={hint} if they are {hint}"),
    "named_like": ("{name} 的扩展名像 {said}，内容却是 {fmt}：已按 {fmt} 读取",
                   "{name} is named like {said} but holds {fmt}: read as {fmt}"),
    "option_ignored": ("选项 {option}= 不适用于 {fmt}：已忽略",
                       "the option {option}= does not apply to {fmt}: ignored"),
    "format_is_wgs84": ("{fmt} 按其规范为 WGS-84：已按 crs 选项以 {key} 读取",
                        "{fmt} is WGS-84 by its specification: read as {key} as the "
                        "crs option says"),
    "crs_default": ("未说明坐标系：按 WGS-84 读取", "nothing said which CRS: taken as "
                    "WGS-84"),
    "crs_format": ("该格式的规范规定为 WGS-84", "the format's specification says "
                   "WGS-84"),
    "crs_option": ("由 crs 选项指定", "given by the crs option"),
    "crs_file": ("{where_zh}说明为 {key}", "{where} says {key}"),
    "crs_offset": ("{where_zh}说明为 {key}，无法表达 {opt} 偏移；已按 crs 选项以 {opt} "
                   "读取",
                   "{where} says {key}, which cannot express the {opt} offset; read "
                   "as {opt} as the crs option says"),
    "crs_option_ignored": ("{where_zh}说明为 {key}：crs 选项 {option!r} 被忽略",
                           "{where} says {key}: the crs option {option!r} was "
                           "ignored"),
    "gk_prefix": ("东坐标（如 {median}）带有带号前缀 {zone}：已按 CGCS2000 3 度带"
                  "高斯-克吕格投影第 {zone} 带读取，中央经线 {cm}°E，{new}{instead_zh}",
                  "the eastings (like {median}) carry the zone prefix {zone}: read "
                  "as CGCS2000 3-degree Gauss-Krüger zone {zone} (CM {cm}°E, "
                  "{new}){instead}"),
    "gk_no_prefix": ("{key} 的东坐标带有带号前缀，但这些东坐标（如 {median}）没有：已按"
                     "无前缀的同一带 {new} 读取",
                     "{key} has the zone prefix on eastings, but these (like "
                     "{median}) have none: read as {new}, the same zone without "
                     "it"),
    "crs_missing": ("{where_zh}缺失：坐标已按 {crs} 读取{advice_zh}",
                    "{where} is missing: the coordinates were read as {crs}"
                    "{advice}"),
    "dbf_gb18030": ("未说明属性的编码{why_zh}，且属性不是 UTF-8：已按中文编码 {used} "
                    "解码，请核对",
                    "nothing says the attributes' encoding{why} and they are not "
                    "UTF-8: decoded as Chinese in {used}; check them"),
    "dbf_western_guess": ("未说明属性的编码{why_zh}，且属性既不是 UTF-8，按 GBK 读也"
                          "不是中文：已按 {used} 解码，请核对；如有误，请指定 "
                          "encoding=",
                          "nothing says the attributes' encoding{why}, and they are "
                          "neither UTF-8 nor Chinese in GBK: decoded as {used}; "
                          "check them, and give encoding= if that is wrong"),
    "cpg_unknown": (".cpg 文件写的是“{text}”，不是 gridgov 认识的代码页：已由属性内容"
                    "判断编码",
                    "the .cpg says {text!r}, not a code page gridgov knows: the "
                    "encoding was judged from the attributes"),
    "dbf_declared_fails": ("{where_zh}说明编码为 {said}，但属性不是 {said} 文本："
                           "已按 {used} 解码，请核对",
                           "{where} says {said}, but the attributes are not text "
                           "in {said}: decoded as {used}; check them"),
    "dbf_declared_doubt": ("{where_zh}说明编码为 {said}，但属性按 {said} 读是乱码，"
                           "按 {used} 读是中文：已按 {used} 解码；如有误，请指定 "
                           "encoding={said}",
                           "{where} says {said}, but the attributes read as "
                           "garbled in {said} and as Chinese in {used}: decoded as "
                           "{used}; give encoding={said} if that is wrong"),
    "dbf_also_chinese": ("已按{where_zh}说明的 {said} 解码；但属性按 {alt} 读也是"
                         "中文（如“{sample}”）：如确是中文，请指定 encoding={alt}",
                         "decoded as {said} as {where} says; but the attributes "
                         "also read as Chinese in {alt} (e.g. {sample!r}): give "
                         "encoding={alt} if they are Chinese"),
    "dbf_utf8_over": ("{where_zh}说明编码为 {said}，但属性是有效的 UTF-8 文本："
                      "已按 UTF-8 解码",
                      "{where} says {said}, but the attributes are valid UTF-8: "
                      "decoded as UTF-8"),
    "dbf_undecodable": ("属性中有按 {used} 无法解码的字符：已替换或略去，请核对",
                        "some characters of the attributes are not valid {used}: "
                        "replaced or dropped; check them"),
    "time_early": ("第 {rows_zh} 行的时间早于 {floor}（如 {example}）：已读取，"
                   "请检查设备的时钟",
                   "row{plural} {rows}: a time before {floor} (e.g. {example}): "
                   "read; check the device's clock"),
    "time_future": ("第 {rows_zh} 行的时间晚于当前时间一天以上（如 {example}）："
                    "已读取，请检查设备的时钟",
                    "row{plural} {rows}: a time more than a day in the future "
                    "(e.g. {example}): read; check the device's clock"),
    "xlsx_right_cells": ("第 {row} 行在标题最后一列右侧还有单元格：已忽略",
                         "row {row} has cells right of the header's last column: "
                         "ignored"),
    "xlsx_sheets": ("工作簿有 {n} 个工作表：{names}；读取了“{first}”，可用 sheet= "
                    "选择其他",
                    "the workbook has {n} sheets ({names}): read {first!r}; give "
                    "sheet= for another"),
}

# an import's checks, refusals and warnings (layers/; formerly
# layers/import_messages.py)
CHECKS = {
    # one field of a row
    "required": ("{label}为必填项", "{field} is required"),
    "too_long": ("{label}超过 {limit} 个字符",
                 "{field} is longer than {limit} characters"),
    "not_phone": ("“{value}”不是有效的电话号码", "'{value}' is not a phone number"),
    "not_id_number": ("“{value}”不是有效的身份证号",
                      "'{value}' is not a Chinese ID number"),
    "not_whole": ("{label}应为整数，实为“{value}”",
                  "{field} must be a whole number, got '{value}'"),
    "not_number": ("{label}应为数字，实为“{value}”",
                   "{field} must be a number, got '{value}'"),
    "out_of_range": ("{label}应在 {span} 范围内，实为“{value}”",
                     "{field} must be in {span}, got '{value}'"),
    "not_in_vocabulary": ("{label}“{value}”不是可选值，可选：{choices}",
                          "{field} '{value}' is not one of {choices}"),
    "bad_tag": ("标签“{value}”不是可选值，可选：{choices}",
                "tag '{value}' is not one of {choices}"),
    "not_time": ("{label}“{value}”不是有效的日期时间",
                 "{field} '{value}' is not a date and time"),
    # rules across fields or rows
    "needs_bearing": ("{kinds}须填写朝向，0–360°",
                      "a fixed camera or checkpoint needs a bearing (0–360°)"),
    # the roster's 公示电话 (a staff import: layers/import_checks.py)
    "not_notice_choice": ("{label}“{value}”无效：可填 {choices}，或直接填一个号码",
                          "{field} '{value}' is not valid: one of {choices}, or a "
                          "phone number"),
    "notice_phone_needed": ("公示电话为“其他号码”时须填写公示号码",
                            "notice_phone_choice 'other' needs the number "
                            "(the notice_phone column)"),
    "notice_phone_unused": ("公示电话为“{choice}”时不填公示号码（收到“{value}”）",
                            "a notice number goes only with notice_phone_choice "
                            "'other' (got '{value}' with '{choice}')"),
    "notice_phone_two": ("公示电话“{value}”与公示号码“{other}”不同：只填一个号码",
                         "two different notice numbers, '{value}' and '{other}': "
                         "give one"),
    "bad_subtype": ("小类“{value}”不属于{category}的小类",
                    "subtype '{value}' is not one of the category's subtypes"),
    "repeats": ("{label}“{value}”与前面的行重复",
                "{field} '{value}' repeats an earlier row"),
    "not_grid_code": ("编码“{value}”不是网格编码：应为 9、12、15 或 18 位数字，"
                      "分别对应镇、村社区、综合网格、微网格",
                      "code '{value}' is not a grid code: 9, 12, 15 or 18 digits "
                      "(town, village, comprehensive grid, micro-grid)"),
    "level_mismatch": ("层级 {value} 与编码长度不符：9/12/15/18 位对应 1/2/3/4 级",
                       "level {value} does not match the code's length (9/12/15/18 "
                       "digits: level 1/2/3/4)"),
    # places and the jurisdiction
    "outside_jurisdiction": ("不在您的管辖范围 {where_zh} 内",
                             "outside your jurisdiction {where}"),
    "outside_deployment": ("不在本系统辖区内", "outside the deployment"),
    "lies_away": ("位于其以{dir_zh}约 {km} km，超出 {margin} km 的容差",
                  "it lies about {km} km {dir} of it, beyond the {margin} km "
                  "margin"),
    "outside_area_all": ("全部 {n} 个点位于辖区以{dir_zh}约 {km} km："
                         "文件或坐标系有误？",
                         "all {n} points lie about {km} km {dir} of {where}: a "
                         "wrong file or CRS?"),
    "no_deployment": ("本系统尚无一级网格：请先由系统管理员导入一级网格，建立辖区",
                      "the deployment has no level-1 grid yet: an administrator "
                      "imports the level-1 grids first"),
    "deployment_admin_only": ("本系统尚无一级网格：只有系统管理员可以导入一级网格，"
                              "建立辖区",
                              "the deployment has no level-1 grid yet: only an "
                              "administrator may import the grids that create it"),
    "new_area_far": ("一级网格 {code} 位于现有辖区以{dir_zh}约 {km} km：如确为新辖区，"
                     "请勾选“新辖区”（--new-area）",
                     "level-1 grid {code} lies about {km} km {dir} of the existing "
                     "deployment: confirm a new area with new_area (--new-area)"),
    "not_point": ("该行是 {kind}，不是点：{layer_zh}只导入点",
                  "the row is a {kind}, not a point: {layer} takes points only"),
    "no_micro_grid": ("不在 {where_zh} 的任何微网格内",
                      "not inside any micro-grid of {where}"),
    "no_micro_grid_no_grid": ("不在 {where_zh} 的任何微网格内，且未填写所属网格",
                              "not inside any micro-grid of {where}, and no grid "
                              "(所属网格) is given"),
    "grid_name_ambiguous": ("网格名称“{value}”在 {where_zh} 内不唯一：请填写其编码，"
                            "如 {codes}",
                            "grid name '{value}' is not unique in {where}: give its "
                            "code ({codes})"),
    "grid_outside": ("网格 {value} 不在您的管辖范围 {where_zh} 内",
                     "grid {value} is outside your jurisdiction {where}"),
    "no_such_grid": ("没有编码或名称为“{value}”的网格",
                     "no grid with code or name '{value}'"),
    "address_repeats": ("地址“{value}”与前面未填编号的行在同一微网格内重复",
                        "address '{value}' repeats an earlier row without an id "
                        "in the same micro-grid"),
    "address_match_flag": ("已有同址住户", "a household at this address exists"),
    "address_match_add": ("{n} 行的编号是新的，但所在微网格内已有同址住户：已作为新住户"
                          "添加；如为同一户，请选择“更新同址住户”"
                          "（on_address_match=update）",
                          "{n} row(s) with a new id at an address a household of "
                          "the micro-grid has already: added as new households "
                          "(on_address_match=update updates them instead)"),
    "address_match_update": ("{n} 行的编号是新的，但所在微网格内已有同址住户：已更新"
                             "该住户",
                             "{n} row(s) with a new id at an address a household "
                             "of the micro-grid has already: that household was "
                             "updated"),
    "address_match_skip": ("{n} 行的编号是新的，但所在微网格内已有同址住户：已跳过",
                           "{n} row(s) with a new id at an address a household of "
                           "the micro-grid has already: skipped"),
    "address_match_skipped": ("已有同址住户（{id}），按设置跳过",
                              "a household at '{address}' exists already ({id}): "
                              "skipped"),
    "key_outside": ("{label} {value} 属于您管辖范围以外的记录",
                    "{field} {value} belongs to a record outside your jurisdiction"),
    "jurisdiction_not_grid": ("您的管辖范围 {code} 不是一个网格",
                              "your jurisdiction {code} is not a grid"),
    "grid_not_below": ("网格 {code} 不在您的管辖范围 {root} 之下",
                       "grid {code} is not below your jurisdiction {root}"),
    "grid_orphan": ("网格 {code}：其上级网格 {parent} 既未入库，也不在文件中",
                    "grid {code}: its parent {parent} is neither stored nor in the "
                    "file"),
    "grid_not_polygon": ("网格须为面 Polygon 或 MultiPolygon，实为 {kind}",
                         "a grid needs a Polygon or MultiPolygon, got {kind}"),
    "overlap_pair": ("网格 {a} 与 {b} 重叠 {area}（{n} 处）",
                     "grids {a} and {b} overlap by {area} ({n} parts)"),
    "grids_fail_check": ("网格层级检查未通过，未导入任何网格",
                         "the grids fail the hierarchy check, nothing was imported"),
    # incidents: the registered record and the incident loop
    "incident_record_fixed": ("事件 {code} 已登记，导入不能修改其{labels}；"
                              "请在调度台办理",
                              "incident {code} is registered already: an import "
                              "cannot change its {fields}"),
    "incident_status_back": ("事件 {code} 不能从 {old_zh} 改为 {new_zh}：导入只能"
                             "分流、接收事件，提级、重新办理请在调度台办理",
                             "Incident {code} cannot go from {old} back to {new}: "
                             "an import may only triage and accept; escalate or "
                             "reopen at the dispatch desk"),
    "incident_step_failed": ("事件 {code} 无法{action_zh}", "incident {code}: "
                             "{action} failed"),
    "incident_import_note": ("导入 {file}", "imported from {file}"),
    # patrol tracks
    "track_no_position": ("没有位置", "no position"),
    "track_no_time": ("没有时间", "no time"),
    "track_duplicate_time": ("时间重复", "duplicate time"),
    "track_jump": ("GPS 跳点：{seconds} 秒内移动 {km} 公里",
                   "GPS jump: {km} km in {seconds} s"),
    "track_jump_first": ("GPS 跳点：离轨迹过远、过快",
                         "GPS jump: too fast from the track"),
    "track_not_points": ("{n} 个航点或路线点未计入：只有轨迹点构成巡查轨迹",
                         "{n} waypoint(s) or route point(s) left out: only track "
                         "points make a patrol"),
    "track_needs_staff": ("巡查轨迹需指定网格员：staff=<编号>，实为 {raw!r}",
                          "a track import needs the grid worker: staff=<id>, got "
                          "{raw!r}"),
    # the import as a whole
    "unknown_layer": ("无法导入到 {layer!r}：可选 {choices}",
                      "cannot import into {layer!r}: choose one of {choices}"),
    "not_allowed": ("您的角色 {role} 无权导入{layer_zh}，需要 {permission} 权限",
                    "your role ({role}) may not import {layer} ({permission})"),
    "no_key_column": ("没有{label}列：列名应为 {field} 或 {names}，或用 {field}=<列名> "
                      "指定",
                      "no column for {field} (named {field} or {names}); map one "
                      "with {field}=<column>"),
    "bad_address_match": ("on_address_match 须为 {choices} 之一，实为 {value!r}",
                          "on_address_match must be one of {choices}, got "
                          "{value!r}"),
    "imported_before": ("{file} 已于 {when} 由 {user} 导入到{layer_zh}，导入编号 "
                        "#{id}；如需再次导入，请选择强制导入",
                        "{file} was imported into {layer} already: import #{id} on "
                        "{when_en} by {user}; use force to import it again"),
    "no_import": ("没有编号为 {id} 的导入", "no import {id}"),
    # an import that would store nothing: why, first (summarise)
    "all_rejected_one": ("{n} 行全部{what_zh}", "{all_rows} {what}"),
    "all_rejected_mixed": ("{n} 行全部被拒绝：{parts_zh}",
                           "{all_rows} were rejected: {parts}"),
    "first_rejected": ("如第 {row} 行：{reason}", "e.g. row {row}: {reason}"),
    "nothing_read": ("文件中没有可导入的行", "the file holds no row to import"),
    # the kinds of rejection an import's summary names (layers/import_messages.py)
    "kind_look_swapped": ("经纬度似乎互换", "have latitude and longitude swapped"),
    "kind_outside_china": ("位于中国境外", "lie outside China"),
    "kind_are_not_degrees": ("不是经纬度", "are not degrees"),
    "kind_look_like_degrees": ("看起来是经纬度而非米", "look like degrees, not metres"),
    "kind_cannot_be_transformed": ("无法转换坐标", "cannot be transformed"),
    "kind_far_outside_the_deployment": ("远在本系统范围之外",
                                        "lie far outside the deployment"),
    "kind_no_geometry": ("没有几何图形", "have no geometry"),
    "kind_not_valid": ("几何图形无效", "have an invalid geometry"),
    "kind_not_a_point": ("不是点", "are not points"),
    "kind_outside_your_jurisdiction": ("不在您的管辖范围内",
                                       "lie outside your jurisdiction"),
    "kind_outside_the_deployment": ("不在本系统辖区内", "lie outside the deployment"),
    "kind_not_inside_any_micro_grid": ("不在任何微网格内", "lie in no micro-grid"),
    "kind_bad_position": ("位置有误", "have a bad position"),
    "kind_bad_field": ("{label}有误", "have a bad {field}"),
}

# the errors raised by api/, layers/, geo/, importers/ and web/ (layers/errors.py
# classes; click's in the CLI): one sentence each, the field they name stays in
# the raise
ERRORS = {
    "internal": ("内部错误，详见服务器日志", "internal error; see the server log"),
    # werkzeug's own refusals under /api/ (404, 405, 413 …): its English kept
    "err_http": ("请求未能处理（HTTP {status}）", "{description}"),
    "err_csrf": ("表单校验（CSRF）未通过：请刷新页面后重试",
                 "CSRF check failed: {reason}; reload the page and try again"),
    "db_unavailable": ("数据库暂不可用", "The database is unavailable"),
    # api/devices.py
    "err_username_password_required": ("请填写用户名和密码",
                                       "'username' and 'password' are required"),
    "err_label_text": ("设备名称须为文本", "'label' must be text"),
    # api/grid_edit.py
    "err_give_list": ("'give' 须为列表 [{{at: [经度, 纬度], to: 网格编码, version}}]",
                      "'give' must be a list [{{at: [lon, lat], to: code, version}}]"),
    "err_neighbours_cannot_hold_grid": ("'neighbours' 不能包含所修改的网格 {code}",
                                        "'neighbours' cannot hold the grid edited, "
                                        "{code}"),
    "err_neighbours_object": ("'neighbours' 须为对象 {{网格编码: {{geometry, "
                              "version}}}}",
                              "'neighbours' must be an object {{code: {{geometry, "
                              "version}}}}"),
    # api/incidents.py
    "err_future": ("受理时间“{name}”晚于现在", "'{name}' is in the future"),
    "err_link_incident_code": ("“link_to”须为事件编号",
                               "'link_to' must be an incident code"),
    "err_action_required_text": ("缺少动作“action”（文本）",
                                 "'action' is required (text)"),
    "err_crs": ("坐标系“crs”无法识别：{exc}", "'crs': {exc}"),
    "err_lat_between_lon_lat": ("纬度“lat”须在 -90 至 90 之间，收到 "
                                "{b}；经纬度似乎填反了",
                                "'lat' must be between -90 and 90, got {b}; lon and "
                                "lat look swapped"),
    # api/params.py
    "err_iso_date_date_time": ("“{name}”须为 ISO 8601 日期或日期时间（如 "
                               "2026-10-01T09:30:00+08:00），收到 {raw!r}",
                               "'{name}' must be an ISO 8601 date or date-time "
                               "(such as 2026-10-01T09:30:00+08:00), got {raw!r}"),
    "err_contains_nul_character_x": ("“{shown}”含有空字符（NUL），不能接受",
                                     "'{shown}' contains a NUL character (\\x00), "
                                     "which is not accepted"),
    "err_required_finite_number": ("字段“{name}”为必填项，须为有限的数字，收到 "
                                   "{value!r}",
                                   "'{name}' is required and must be a finite "
                                   "number, got {value!r}"),
    "err_request_body_json_object": ("请求体必须是 JSON 对象 {{…}}",
                                     "the request body must be a JSON object {{…}}"),
    "err_between": ("“{name}”须在 {EARLIEST} 至 {LATEST} 之间，收到 {raw!r}",
                    "'{name}' must be between {EARLIEST} and {LATEST}, got {raw!r}"),
    "err_after": ("“{since_name}”晚于“{until_name}”",
                  "'{since_name}' is after '{until_name}'"),
    "err_text": ("字段“{name}”须为文本，收到 {v}", "'{name}' must be text, got {v}"),
    "err_whole_number": ("字段“{name}”须为整数，收到 {v}",
                         "'{name}' must be a whole number, got {v}"),
    "err_json_kind": ("字段“{name}”须为{want_zh}，收到 {v}",
                      "'{name}' must be {want}, got {v}"),
    "err_request_body_json_object_2": ("请求体须为 JSON 对象 "
                                       "{{…}}，收到的不是有效的 JSON",
                                       "the request body must be a JSON object "
                                       "{{…}}; it is not valid JSON"),
    "err_date_yyyy_mm_dd": ("“{name}”须为日期 YYYY-MM-DD，收到 {raw!r}",
                            "'{name}' must be a date YYYY-MM-DD, got {raw!r}"),
    # api/photo_store.py
    "err_file_not_readable_image": ("上传的文件不是可识别的图片（JPEG/PNG/WebP）：{re"
                                    "ason}",
                                    "the file is not a readable image (JPEG, PNG or "
                                    "WebP): {reason}"),
    "err_photo_send_form_field": ("缺少照片文件（表单字段 file）",
                                  "no photo: send it as the form field 'file'"),
    "err_photo_larger_than_mb": ("照片超过 {v} MB", "the photo is larger than {v} MB"),
    "err_photo_store_unavailable": ("照片存储暂不可用（{where}）：{v}",
                                    "The photo store is unavailable ({where}): {v2}"),
    "err_photo_has_too_many": ("照片像素过多（{width}×{height}），上限 {v} MP",
                               "the photo has too many pixels ({width}×{height}); "
                               "at most {v} MP"),
    "err_photo_has_too_many_2": ("照片像素过多，上限 {v} MP",
                                 "the photo has too many pixels; at most {v} MP"),
    "err_photo_s_file_missing": ("照片文件缺失", "the photo's file is missing"),
    "err_photo_s_bucket_set": ("已设置 PHOTO_S3_BUCKET，但未安装 boto3（pip install "
                               "boto3）",
                               "PHOTO_S3_BUCKET is set but boto3 is not installed "
                               "(pip install boto3)"),
    "err_photo_store_misconfigured_photo": ("照片存储配置有误（PHOTO_S3_ENDPOINT "
                                            "{endpoint!r}）：{exc}",
                                            "The photo store is misconfigured "
                                            "(PHOTO_S3_ENDPOINT {endpoint!r}): {exc}"),
    # api/search.py
    "err_parameter_format_geojson_csv": ("参数 format 须为 geojson 或 csv",
                                         "parameter 'format' must be geojson or csv"),
    # api/tracks.py
    "err_parameter_required_grid_worker": ("缺少参数 {name}：网格员编号",
                                           "parameter '{name}' is required: the "
                                           "grid worker's id"),
    "err_send_gpx_file_multipart": ("请以 multipart 字段 file 发送 GPX 文件",
                                    "send the GPX file as the multipart field 'file'"),
    # api/visits.py
    "err_lon_lat_out_range": ("经纬度超出范围", "'lon'/'lat' out of range"),
    "err_accuracy_m": ("定位精度不能为负", "'accuracy_m' must be ≥ 0"),
    # layers/check.py
    # layers/devices.py
    "err_device_was_logged_out": ("此设备已退出登录或授权已过期，请重新登录",
                                  "this device was logged out or its access "
                                  "expired: log in again"),
    "err_label_printable_characters": ("设备名称须为 1–{MAX_LABEL} 个可打印字符",
                                       "'label' must be 1–{MAX_LABEL} printable "
                                       "characters"),
    "err_request_carries_device_token": ("此请求未使用设备令牌",
                                         "this request carries no device token"),
    # layers/grid_edit.py
    "err_grids_edited_together_merged": ("一起修改的网格须属于同一上级网格",
                                         "the grids edited together (merged, or "
                                         "redrawn with their neighbours) are not "
                                         "siblings: they have different parents"),
    # layers/grid_scope.py
    "err_grid_lies_above_jurisdiction": ("网格 {code} "
                                         "在您的辖区（{root}）之上，您不能修改",
                                         "grid {code} lies above your jurisdiction "
                                         "({root}): you may not edit it"),
    "err_grid_root_jurisdiction_editing": ("网格 {code} "
                                           "是您辖区的根网格，只能由上一级的规划员修改",
                                           "grid {code} is the root of your "
                                           "jurisdiction: editing it is for a "
                                           "planner of the level above"),
    "err_new_boundary_reaches_into": ("新边界伸入了您辖区以外的网格：{v}",
                                      "the new boundary reaches into grid(s) "
                                      "outside your jurisdiction: {v2}"),
    "err_edit_would_change_grid": ("此次修改会改动您辖区以外的网格：{v}",
                                   "the edit would change grid(s) outside your "
                                   "jurisdiction: {v2}"),
    # layers/idempotency.py
    "err_idempotency_key_header_printable": ("Idempotency-Key 须为 1–{MAX_KEY} "
                                             "个可打印字符",
                                             "the Idempotency-Key header must be "
                                             "1–{MAX_KEY} printable characters"),
    "err_idempotency_key_was_used": ("该 Idempotency-Key 已用于另一个不同的请求",
                                     "this Idempotency-Key was used with a "
                                     "different request"),
    "err_same_request_being_processed": ("相同的请求正在处理中，请稍后重试",
                                         "the same request is being processed: try "
                                         "again shortly"),
    # layers/jurisdictions.py
    # layers/patrols.py
    "err_message": ("第 {v} 个轨迹点的 {field} {zh}", "'{name}' {en}"),
    "err_points_list_points": ("points 须为 1–{MAX_POINTS} 个轨迹点的列表",
                               "'points' must be a list of 1 to {MAX_POINTS} points"),
    "err_patrol_id_uuid": ("patrol_id 须为 UUID", "'patrol_id' must be a UUID"),
    "err_account_linked_grid_staff": ("此账号未关联网格员，无法记录巡查轨迹（gridgov "
                                      "user link）",
                                      "this account is linked to no grid staff "
                                      "person: a patrol cannot be recorded (gridgov "
                                      "user link)"),
    "err_patrol_id_belongs_another": ("该巡查编号属于另一名网格员",
                                      "this patrol_id belongs to another staff "
                                      "person"),
    # layers/photos.py
    "err_photo": ("没有照片 {photo_id}", "no photo {photo_id}"),
    # layers/search.py
    "err_parameter_layer": ("参数 layer 须为 {v} 之一",
                            "parameter 'layer' must be one of {v2}"),
    "err_role_may_not_search": ("你的角色（{role}）无权搜索图层 {layer}（需要 "
                                "{permission} 权限）",
                                "your role ({role}) may not search the layer "
                                "{layer} (it needs {permission})"),
    "err_not_filter": ("{name} 不是图层 {layer} 的筛选条件，可用：{v}",
                       "'{name}' is not a filter of {layer}: one of {v2}"),
    # layers/tracks.py
    "err_grid_staff": ("没有编号为 {staff_id} 的网格员", "no grid staff {staff_id}"),
    "err_file_holds_track_point": ("文件中没有带时间的轨迹点",
                                   "the file holds no track point with a time"),
    "err_most_days_once": ("一次最多查看 {MAX_DAYS} 天（{since} 至 {until}）",
                           "at most {MAX_DAYS} days at once, got {since} to {until}"),
    # layers/users.py
    "err_user_name_username": ("用户名须为 2–64 个英文字母、数字或 _ . @ - 字符",
                               "the user name (username) must be {USERNAME_RULE}"),
    "err_password_have_least_characters": ("密码至少 {MIN_PASSWORD_LENGTH} 个字符",
                                           "the password must have at least "
                                           "{MIN_PASSWORD_LENGTH} characters"),
    "err_printable_characters": ("{zh_name}须为 1–{MAX_LABEL} 个可打印字符",
                                 "'{field}' must be 1–{MAX_LABEL} printable "
                                 "characters"),
    "err_unknown_role": ("未知角色 {role!r}", "unknown role {role!r}: one of {v}"),
    "err_jurisdiction_grid_grid_code": ("管辖网格须为 9、12、15 或 18 "
                                        "位数字的网格编码",
                                        "the jurisdiction (grid) must be a grid "
                                        "code of 9, 12, 15 or 18 digits"),
    "err_jurisdiction_grid_may_neither": ("管辖网格不能为空（全域），也不能在您的管辖"
                                          "范围（{grid_code}）之外",
                                          "the jurisdiction (grid) may be neither "
                                          "empty (the whole deployment) nor outside "
                                          "your jurisdiction ({grid_code})"),
    "err_user_outside_jurisdiction": ("用户 {username} "
                                      "不在您的管辖范围（{grid_code}）内",
                                      "user {username} is outside your jurisdiction "
                                      "({grid_code})"),
    "err_staff_staff_id": ("网格员编号须为整数", "'staff' must be a staff id"),
    "err_user": ("没有用户 {username}", "no user {username}"),
    "err_user_exists_already": ("用户 {username} 已存在",
                                "user {username} exists already"),
    "err_you_may_not_change": ("不能修改自己的角色或管辖网格：请另一位管理员修改",
                               "you may not change your own role or jurisdiction: "
                               "ask another administrator"),
    "err_too_many_failed_logins": ("该账号近一小时登录失败次数过多，已被锁定：请联系"
                                   "管理员解锁，或稍后再试",
                                   "too many failed logins for this account in the "
                                   "last hour: it is locked until an administrator "
                                   "unlocks it or the failures age out"),
    "err_too_many_failed_logins_2": ("登录失败次数过多，请 {wait} 秒后再试",
                                     "too many failed logins: try again in {wait} s"),
    "err_active_token": ("没有有效的令牌 {token_id}", "no active token {token_id}"),
    "err_grid_staff_linked_account": ("网格员 {staff_id} 已关联账号 {v}",
                                      "grid staff {staff_id} is linked to the "
                                      "account {v} already"),
    # layers/visits.py
    "err_whole_number_from": ("{field} 须为 {low}–{high} 的整数",
                              "'{field}' must be a whole number from {low} to {high}"),
    "err_note_text_most_characters": ("走访记录须为不超过 {MAX_NOTE} 字的文本",
                                      "'note' must be text of at most {MAX_NOTE} "
                                      "characters"),
    "err_unknown_tag": ("未知的标签 {tag!r}", "unknown tag {tag!r}; one of {v}"),
    "err_visited_future": ("走访时间不能晚于现在", "'visited_at' is in the future"),
    "err_visit": ("没有走访记录 {visit_id}", "no visit {visit_id}"),
    "err_visit_has_tag_awaiting": ("走访记录 {visit_id} 没有待确认的标签",
                                   "visit {visit_id} has no tag awaiting "
                                   "confirmation"),
    # geo/edit.py
    "err_grid_not_sibling_grids": ("网格 {code} 不是同一上级网格下的网格",
                                   "grid {code} is not a sibling of the grids edited"),
    "err_there_gap": ("点 {x:.6f}, {y:.6f} 处没有空隙",
                      "there is no gap at {x:.6f}, {y:.6f}"),
    "err_gap_does_not_border": ("空隙与网格 {code} 不相邻，不能交给它",
                                "the gap does not border grid {code}: it cannot be "
                                "handed to it"),
    # web/admin.py
    "err_parameter": ("筛选条件 {name} 无效", "parameter '{name}' must be one of {v}"),
    "err_parameter_table_table_name": ("筛选的对象无效",
                                       "parameter 'table' must be a table name "
                                       "(a–z, _)"),
    "err_parameter_user_user_name": ("筛选的用户名无效",
                                     "parameter 'user' must be a user name of "
                                     "{USERNAME_RULE}"),
    # web/app.py
    "err_holiday_calendar_lacks_deadlines": ("节假日日历缺少 {years} "
                                             "年的安排：这些年的办理期限只按周末计算"
                                             "。请升级 "
                                             "chinesecalendar，或设置 "
                                             "GRIDGOV_INCIDENT_HOLIDAYS / _WORKDAYS",
                                             "the holiday calendar lacks {years}: "
                                             "deadlines then count weekends only; "
                                             "upgrade chinesecalendar or set "
                                             "GRIDGOV_INCIDENT_HOLIDAYS / _WORKDAYS"),
    # api/coverage.py
    "err_grid_param_digits": ("参数 grid 应为网格编码（数字），实为“{code}”",
                              "parameter 'grid' must be a grid code (digits), got "
                              "{code!r}"),
    "err_camera_kind_param": ("参数 kind 应为 ptz、fixed 或 checkpoint，实为“{kind}”",
                              "parameter 'kind' must be ptz, fixed or checkpoint, "
                              "got {kind!r}"),
    # api/stats.py
    "err_month_or_period": ("请给出 month，或同时给出 from 和 to",
                            "give either 'month' or 'from' and 'to'"),
    "err_stats_format": ("参数 format 应为 json、xlsx、pdf 或 png",
                         "parameter 'format' must be json, xlsx, pdf or png"),
    "err_bad_token": ("API 令牌无效或已吊销", "invalid or revoked API token"),
    "err_role_forbidden": ("您的角色（{role_zh}）无权执行此操作（{permission}）",
                           "your role ({role}) may not do this ({permission})"),
    "err_login_needed": ("请登录，或发送 API 令牌（Authorization: Bearer …）",
                         "log in or send an API token (Authorization: Bearer …)"),
    # api/density.py
    "err_from_after_to_days": ("参数 from（{day_from}）晚于 to（{day_to}）",
                               "parameter 'from' ({day_from}) is after 'to' "
                               "({day_to})"),
    "err_param_one_of": ("参数 {name} 应为 {allowed} 之一，实为“{raw}”",
                         "parameter '{name}' must be one of {allowed}, got {raw!r}"),
    "err_grid_param": ("参数 grid 应为网格编码，实为“{grid}”",
                       "parameter 'grid' must be a grid code, got {grid!r}"),
    "err_band_cells_only": ("参数 band_m 只能与 level=cells 一起使用",
                            "parameter 'band_m' goes with level=cells only"),
    "err_category_param": ("参数 category：未知的类别 {unknown}；可用 {known}",
                           "parameter 'category': unknown {unknown}; use {known}"),
    # api/grid_edit.py
    "err_body_not_object": ("请求体应为 JSON 对象",
                            "the request body must be a JSON object"),
    "err_codes_list": ("codes 应为网格编码的列表",
                       "'codes' must be a list of grid codes"),
    "err_keep_code": ("keep 应为网格编码", "'keep' must be a grid code"),
    "err_versions_object": ("versions 应为对象 {{编码: 版本}}",
                            "'versions' must be an object {{code: version}}"),
    "err_target_households": ("target 应为整数户数",
                              "'target' must be a whole number of households"),
    "err_grids_collection": ("grids 应为新微网格的 GeoJSON FeatureCollection",
                             "'grids' must be a GeoJSON FeatureCollection of the "
                             "new micro-grids"),
    # api/search.py
    "err_radius_or_k": ("请给出 radius（米）或 k（最近的个数），或以 POST 发送多边形",
                        "give either 'radius' (metres) or 'k' (nearest), or POST a "
                        "polygon"),
    "err_body_polygon": ("请求体应为含 polygon 的 JSON 对象",
                         "the request body must be a JSON object with 'polygon'"),
    # api/locate.py
    "err_not_a_point_of": ("x={a}, y={b} 不是 {name} 中的点",
                           "x={a}, y={b} is not a point of {name}"),
    "err_lon_marked_lat": ("参数 lon 标为纬度（N/S、北纬/南纬）：经纬度似乎互换",
                           "parameter 'lon' is marked as a latitude (N/S, "
                           "北纬/南纬); lon and lat look swapped"),
    "err_lat_range_swapped": ("参数 lat 应在 -90 到 90 之间，实为 "
                              "{lat}：经纬度似乎互换",
                              "parameter 'lat' must be between -90 and 90, got "
                              "{lat}; lon and lat look swapped"),
    "err_crs_param": ("参数 crs 有误：{exc}", "parameter 'crs': {exc}"),
    "err_crs_wants_degrees": ("参数 {name} 与坐标系 {crs} 不符：请以度给出 lon 和 lat",
                              "parameter '{name}' does not go with this crs: with "
                              "crs={crs} give lon and lat in degrees"),
    "err_crs_wants_metres": ("参数 {name} 与坐标系 {crs} 不符：请以米给出 x 和 y",
                             "parameter '{name}' does not go with this crs: with "
                             "crs={crs} give x and y in metres"),
    # api/grids.py
    "err_at_param": ("参数 at 应为日期或日期时间（ISO 8601），实为“{raw}”",
                     "parameter 'at' must be a date or a date and time (ISO 8601), "
                     "got {raw!r}"),
    # api/imports.py
    "err_multipart_file": ("请以 multipart 字段 file 发送文件",
                           "send the file as the multipart field 'file'"),
    # layers/coverage.py
    "err_no_grids": ("尚无网格：请先导入或绘制网格",
                     "no grids: load or draw the grids first"),
    "err_no_grid_here": ("您的管辖范围内没有网格 {code}",
                         "no grid {code} in your jurisdiction"),
    "err_too_many_blind": ("{grid} 下有盲区的网格超过 {limit} "
                           "个：请选择更低一级的网格",
                           "more than {limit} grids with blind spots under {grid}: "
                           "ask for a grid lower down"),
    "err_no_grid_for_cameras": ("没有可布设摄像头的网格",
                                "no grid to place cameras in"),
    # layers/import_progress.py
    "err_progress_key": ("参数 {field} 应为 8–64 个字母、数字、“-”或“_”",
                         "parameter '{field}' must be 8–64 letters, digits, '-' or "
                         "'_'"),
    # layers/households.py
    "err_no_household": ("没有编号为 {household_id} 的住户",
                         "no household {household_id}"),
    # layers/print_page.py (the ranking's page, the grid notices)
    "err_font_missing": ("服务器未安装中文字体“{font}”，无法打印：请安装 Debian "
                         "软件包 {package}（scripts/setup.sh 会安装）并重启 gridgov",
                         "the Chinese font '{font}' is not installed on the server, "
                         "so nothing can be printed: install the Debian "
                         "package {package} (scripts/setup.sh does) and restart "
                         "gridgov"),
    # layers/notices.py (网格公示牌)
    "err_notice_level": ("网格 {code} 不是综合网格或微网格：公示牌按三级、四级网格"
                         "打印，村、镇请用 notices.pdf 打印其下全部公示牌",
                         "grid {code} is neither a comprehensive grid nor a "
                         "micro-grid: notices are printed for levels 3 and 4 (a "
                         "village's or town's notices: notices.pdf)"),
    "err_notices_too_many": ("网格 {code} 之下有 {n} 个公示牌，一次最多打印 {limit} "
                             "个：请按村打印",
                             "grid {code} has {n} notices under it, at most {limit} "
                             "print at once: print them village by village"),
    "err_notices_none": ("网格 {code} 之下没有综合网格或微网格，无公示牌可打印",
                         "grid {code} has no comprehensive grid or micro-grid under "
                         "it: no notice to print"),
    # layers/notice_prints.py (a town's notices drawn by the job queue)
    "err_no_notice_print": ("没有编号为 {print_id} 的公示牌打印任务",
                            "no notice print {print_id}"),
    "err_notice_print_not_ready": ("公示牌打印任务 {print_id} 尚未完成（{status}，"
                                   "已生成 {done}/{pages} 页）",
                                   "notice print {print_id} is not ready yet "
                                   "({status}, {done} of {pages} pages drawn)"),
    "err_service_hours_text": ("service_hours（服务时间）应为文字或 null",
                               "'service_hours' must be text or null"),
    "err_service_hours_long": ("service_hours（服务时间）有 {n} 个字，最多 {limit} 个",
                               "'service_hours' has {n} characters, at most "
                               "{limit}"),
    "err_notice_phone_choice": ("notice_phone_choice（公示电话）“{v}”无效，应为 "
                                "{choices} 之一",
                                "'notice_phone_choice' {v!r} is not one of "
                                "{choices}"),
    "err_notice_phone_required": ("notice_phone_choice 为 other 时须填写 notice_phone"
                                  "（公示的号码）",
                                  "'notice_phone' (the number to publish) is "
                                  "required with notice_phone_choice 'other'"),
    "err_notice_phone_format": ("notice_phone（公示电话）“{v}”不是电话号码（5–20 位"
                                "数字、+、-、空格）",
                                "'notice_phone' {v!r} is not a phone number (5–20 "
                                "digits, +, - or spaces)"),
    "err_staff_id": ("网格员编号应为正整数，实为“{v}”",
                     "the staff id must be a positive whole number, got {v!r}"),
    # layers/stats.py
    "err_out_of_range": ("{field} 超出范围：{text}",
                         "'{field}' is out of range: {text}"),
    "err_to_before_from": ("截止日期（to）早于起始日期（from）",
                           "'to' is before 'from'"),
    "err_period_too_long": ("统计期超过 {days} 天",
                            "the period is longer than {days} days"),
    "err_from_out_of_range": ("from 超出范围", "'from' is out of range"),
    # early warnings (layers/early_warning.py)
    "ew_all_categories": ("各类事件", "All categories"),
    "ew_bad_status": ("status 应为 {allowed} 之一",
                      "'status' must be one of {allowed}"),
    "ew_bad_action": ("action 应为 {allowed} 之一",
                      "'action' must be one of {allowed}"),
    "ew_reason_needed": ("排除预警须说明原因", "Dismissing a warning needs a reason"),
    "ew_reason_too_long": ("原因不超过 500 字", "The reason is at most 500 characters"),
    "ew_not_found": ("预警 {id} 不存在或不在您的管辖范围",
                     "Warning {id} does not exist or is outside your jurisdiction"),
    "ew_cli_done": ("预警计算完成：网格预警 {grids} 条，时空聚集 {clusters} 处",
                    "early warnings computed: {grids} grid warning(s), {clusters} "
                    "space-time cluster(s)"),
    "ew_already_dismissed": ("该预警已排除", "This warning has already been dismissed"),
    # 研判 items and levels (layers/judgements.py)
    "err_jd_id": ("{field} 应为正整数", "'{field}' must be a positive whole number"),
    "err_jd_no_level": ("没有编号为 {id} 的研判层级", "no 研判 level {id}"),
    "err_jd_levels_global": ("研判层级只能由全辖区的系统管理员设置",
                             "研判 levels are set by an administrator of the whole "
                             "deployment"),
    "err_jd_covers": ("covers 应为网格编码的数组（null 为全部辖区）",
                      "'covers' must be an array of grid codes (null: the whole "
                      "deployment)"),
    "err_jd_members": ("members 应为用户名的数组", "'members' must be an array of "
                       "user names"),
    "err_jd_rank": ("rank（级次）应为 2 至 20 的整数：街镇为第 1 级",
                    "'rank' must be a whole number from 2 to 20: the town is level 1"),
    "err_jd_level_name_taken": ("已有名为“{name}”的研判层级",
                                "a 研判 level named {name!r} exists already"),
    "err_jd_level_has_items": ("研判层级“{name}”已有研判事项，不能删除",
                               "the 研判 level {name!r} holds items: it cannot be "
                               "deleted"),
    "err_jd_not_found": ("研判事项 {id} 不存在或不在您的管辖范围",
                         "研判 item {id} does not exist or is outside your "
                         "jurisdiction"),
    "err_jd_no_permission": ("您的角色不能记录或更改研判事项",
                             "your role may not record or change 研判 items"),
    "err_jd_outside": ("研判事项所涉网格 {code} 不在您的管辖范围内",
                       "the item's grid {code} is outside your jurisdiction"),
    "err_jd_not_member": ("您不是“{level}”的成员：该级的研判事项由其成员办理",
                          "you do not sit at {level!r}: its items are for its "
                          "members"),
    "err_jd_owner_unknown": ("owner（责任人）：没有可用的用户 {username}",
                             "'owner': no active user {username}"),
    "err_jd_owner_outside": ("owner（责任人）：用户 {username} 的辖区与网格 {code} "
                             "无关",
                             "'owner': the jurisdiction of user {username} has "
                             "nothing to do with grid {code}"),
    "err_jd_task_object": ("tasks 应为任务的数组（至多 50 项），每项含 description、"
                           "owner、deadline",
                           "'tasks' must be an array of at most 50 tasks, each "
                           "{description, owner, deadline}"),
    "err_jd_deadline_past": ("deadline（期限）已过", "'deadline' is in the past"),
    "err_jd_subject": ("须给出 warning_id（预警）或 incidents（事件编号数组），"
                       "二者取一",
                       "give 'warning_id' (a warning) or 'incidents' (incident "
                       "codes): one of them"),
    "err_jd_incidents": ("incidents 应为事件编号的数组（1 至 {limit} 个）",
                         "'incidents' must be an array of 1 to {limit} incident "
                         "codes"),
    "err_jd_several_towns": ("这些事件分属几个镇街：请在覆盖它们的上级研判层级"
                             "（level_id）研判",
                             "these incidents lie in several towns: take them to a "
                             "研判 level above that covers them (level_id)"),
    "err_jd_level_not_covering": ("研判层级“{level}”不覆盖所涉网格",
                                  "the 研判 level {level!r} does not cover the "
                                  "grids concerned"),
    "err_jd_closed": ("研判事项 {id} {zh}，不能再更改",
                      "研判 item {id} is {en}: it can no longer change"),
    "err_jd_unknown_field": ("字段 {name} 不能更改；可改：{fields}",
                             "{name!r} cannot be changed; these can: {fields}"),
    "err_jd_no_task": ("该事项没有编号为 {id} 的任务", "no task {id} of this item"),
    "err_jd_task_already": ("任务已是“{zh}”", "the task is {en} already"),
    "err_jd_open_tasks": ("尚有 {n} 项任务未完成，不能办结",
                          "{n} task(s) still open: the item cannot be resolved"),
    "err_jd_top": ("“{level}”已是最高研判层级，无上级可提级",
                   "{level!r} is the top 研判 level: there is no level above to "
                   "escalate to"),
    "err_no_stored_report": ("没有编号为 {report_id} 的已生成月报，或不在您的管辖范围",
                             "no stored report {report_id} in your jurisdiction"),
    "err_level_1_to_4": ("level 应为 1、2、3 或 4", "'level' must be 1, 2, 3 or 4"),
    "err_level_below_root": ("level 应为 {top} 或更低：根网格 {root} 是 {top} 级网格",
                             "'level' must be {top} or below: the root {root} is a "
                             "level-{top} grid"),
    "err_month_format": ("{field} 应为月份 YYYY-MM，实为“{text}”",
                         "'{field}' must be a month YYYY-MM, got {text!r}"),
    # layers/density.py
    "err_density_method": ("参数 method 应为 bins 或 kde，实为“{method}”",
                           "parameter 'method' must be bins or kde, got {method!r}"),
    "err_hotspot_units": ("{root} 下 {level} 级只有 {n} 个单元：冷热点分析至少需要 "
                          "3 个，请选择更细的层级",
                          "only {n} units at level {level} under {root}: hot spots "
                          "need at least 3; choose a finer level"),
    "err_cell_multiple": ("参数 cell_m 应为 {finest:g} 米的整数倍",
                          "parameter 'cell_m' must be a multiple of {finest:g} m"),
    # layers/grid_edit.py
    "err_no_grid_code": ("没有编码为 {code} 的网格", "no grid with code {code}"),
    "err_create_under_level3": ("微网格须在综合网格（三级）下新建：请给出其编码",
                                "micro-grids are created under a comprehensive grid "
                                "(level 3): give its code"),
    "err_version_required": ("version 为必填项：您开始修改时的版本",
                             "'version' is required: the version you started from"),
    "err_grid_changed": ("网格 {code} 已被他人修改（当前版本 {version}，您开始时为 "
                         "{yours}）：请刷新",
                         "grid {code} was changed by someone else (now version "
                         "{version}, you started from {yours}): reload it"),
    "err_merge_two": ("请至少给出两个不同的网格进行合并",
                      "give at least two different grids to merge"),
    "err_keep_in_merge": ("keep（{keep}）应为要合并的网格之一",
                          "'keep' ({keep}) must be one of the grids to merge"),
    "err_new_grid_name": ("新网格须填写 name", "'name' is required for a new grid"),
    "err_version_whole": ("version 应为整数，实为“{version}”",
                          "'version' must be a whole number, got {version!r}"),
    "err_edit_gaps": ("此修改在上级网格内留下 {n} 处共 {gap_area_m2} m² "
                      "的空隙，没有网格覆盖：请先把该区域划给相邻网格",
                      "the edit leaves {n} gap(s) of {gap_area_m2} m² in the parent "
                      "grid that no grid covers: give that area to a neighbour first"),
    "err_delete_micro_only": ("目前只能删除微网格（四级）",
                              "only micro-grids (level 4) can be deleted for now"),
    "err_not_sibling": ("{heir} 与 {code} 不属同一上级网格",
                        "{heir} is not a sibling of {code}"),
    # layers/demo.py
    "err_counties_province_only": ("--counties 只用于 --scale province",
                                   "--counties goes with --scale province only"),
    "err_counties_max": ("--counties 最多 {max} 个县", "--counties is at most {max}"),
    "err_demo_not_demo": ("数据库中的数据不是生成的演示数据，拒绝替换（用 --force "
                          "清除）",
                          "the database holds data that is not a generated demo; "
                          "refusing to replace it (use --force to wipe it)"),
    # layers/proposals.py
    "err_propose_level3": ("微网格建议须针对综合网格（三级）",
                           "micro-grids are proposed for a comprehensive grid "
                           "(level 3)"),
    # layers/grids.py
    "err_grid_not_then": ("网格 {code} 在 {moment:%Y-%m-%d %H:%M} 时不存在",
                          "grid {code} did not exist at {moment:%Y-%m-%d %H:%M}"),
    # layers/places.py
    "err_q_required": ("参数 q 为必填项：地名、地址或姓名",
                       "parameter 'q' is required: a place, address or name"),
    "err_q_too_long": ("参数 q 超过 {limit} 个字符",
                       "parameter 'q' is longer than {limit} characters"),
    # layers/incidents.py
    "err_must_be_text": ("{field} 应为文本", "'{field}' must be text"),
    "err_too_long": ("{field} 超过 {limit} 个字符",
                     "'{field}' is longer than {limit} characters"),
    "err_unknown_choice": ("未知的 {field}“{value}”；可选：{choices}",
                           "unknown {field} {value!r}; one of {choices}"),
    "err_location_no_micro": ("位置（{lon}, {lat}）不在您管辖范围内的任何微网格中",
                              "the location ({lon}, {lat}) is in no micro-grid of "
                              "your jurisdiction"),
    "err_too_many_incidents_day": ("{day} 的事件超过 9,999 件",
                                   "more than 9,999 incidents on {day}"),
    "err_received_tz": ("received_at 须带时区", "'received_at' needs a time zone"),
    "err_no_incident": ("没有编号为 {code} 的事件", "no incident {code}"),
    "err_unknown_action": ("未知的操作“{action}”；可选：{actions}",
                           "unknown action {action!r}; one of {actions}"),
    "err_field_not_for_action": ("{name} 不适用于操作“{action}”",
                                 "'{name}' does not go with the action {action!r}"),
    "err_required": ("{field} 为必填项", "'{field}' is required"),
    # whom and where an incident concerns (layers/disputes.py)
    "err_concern_household_id": ("household_id 须为住户编号（从 1 起的整数）",
                                 "'household_id' must be a household's id (a whole "
                                 "number from 1)"),
    "err_concern_no_household": ("household_id：您的管辖范围内没有编号为 "
                                 "{household_id} 的住户",
                                 "household_id: no household {household_id} in your "
                                 "jurisdiction"),
    "err_concern_address": ("address 须为不超过 {limit} 个字符的地址（不含控制字符）",
                            "'address' must be an address of at most {limit} "
                            "characters (no control characters)"),
    "err_parties_list": ("parties 须为当事人姓名的列表（至多 {limit} 人）",
                         "'parties' must be a list of the parties' names (at most "
                         "{limit})"),
    "err_party_name": ("parties 第 {n} 项须为不超过 {limit} 个字符的姓名",
                       "'parties' item {n} must be a name of at most {limit} "
                       "characters"),
    "err_field_role_action": ("您的角色不能对事件执行 {action}（只能接收、反馈分派"
                              "给您的任务）",
                              "your role ({role}) may not {action} an incident: only "
                              "{allowed} the tasks assigned to you"),
    "err_not_assigned_to_you": ("事件 {code} 未分派给您",
                                "incident {code} is not assigned to you"),
    "err_outcome_required": ("缺少办结结果“outcome”，可选：{choices}",
                             "'outcome' is required; one of {choices}"),
    "err_outcome_not_for_category": ("结果 {value!r} 不适用于{category_zh}类事件，"
                                     "可选：{choices}",
                                     "outcome {value!r} does not close a {category} "
                                     "incident; one of {choices}"),
    "err_required_choice": ("{field} 为必填项，可选：{choices}",
                            "'{field}' is required; one of {choices}"),
    "err_location_two_numbers": ("位置应为两个数字：经度和纬度",
                                 "the location must be two numbers, lon and lat"),
    "err_between_limits": ("{name} 应在 -{limit} 到 {limit} 之间",
                           "'{name}' must be between -{limit} and {limit}"),
    "err_link_closed": ("事件 {code} 的状态为 {status}：请并入未结事件或新登记",
                        "incident {code} is {status}; link the report to an open "
                        "incident or register a new one"),
    # inbound cases: the sender's reference (layers/incidents.py)
    "err_external_pair": ("external_system 与 external_ref 须同时给出",
                          "'external_system' and 'external_ref' go together"),
    "err_external_text": ("{field} 应为 1–{limit} 个可打印字符",
                          "'{field}' must be 1–{limit} printable characters"),
    "err_external_ref_other_case": ("{system} 的编号 {ref} 已登记为事件 {code}，"
                                    "且内容不同：同一编号不能登记另一件事",
                                    "{system} reference {ref} was registered as "
                                    "incident {code} with other content; one "
                                    "reference cannot register another case"),
    "err_external_ref_link": ("带 external_ref 的登记不能同时 link_to",
                              "a registration with 'external_ref' cannot also "
                              "'link_to'"),
    # webhooks and the job queue (layers/webhooks.py, layers/jobs.py)
    "err_webhook_url": ("URL“{url}”无效：须为 http:// 或 https:// 开头的地址",
                        "URL {url!r} is not valid: it must be an http:// or "
                        "https:// address"),
    "err_webhook_url_userinfo": ("URL 不能包含用户名或密码：签名用共享密钥",
                                 "the URL may not hold a user name or password: "
                                 "the shared secret signs the deliveries"),
    "err_webhook_url_internal": ("不允许推送到 {host}：回环、链路本地或云元数据地址"
                                 "（部署设置 WEBHOOK_ALLOW_LOOPBACK 可放开）",
                                 "webhooks may not be sent to {host}: a loopback, "
                                 "link-local or cloud metadata address (the "
                                 "deployment setting WEBHOOK_ALLOW_LOOPBACK "
                                 "allows it)"),
    "err_webhook_url_unresolved": ("无法解析主机名 {host}",
                                   "the host name {host} does not resolve"),
    "err_webhook_refused_now": ("推送时拒绝：{host} 现在解析为 {address}，为回环、"
                                "链路本地或云元数据地址（部署设置 "
                                "WEBHOOK_ALLOW_LOOPBACK 可放开）",
                                "refused when sending: {host} now resolves to "
                                "{address}, a loopback, link-local or cloud "
                                "metadata address (the deployment setting "
                                "WEBHOOK_ALLOW_LOOPBACK allows it)"),
    "err_webhook_events": ("events 应为非空列表，可选：{choices}",
                           "'events' must be a non-empty list; of {choices}"),
    "err_webhook_secret": ("secret 应为 {low}–{high} 个字符（不给则自动生成）",
                           "'secret' must be {low}–{high} characters (left out, "
                           "one is made)"),
    "err_webhook_grid_outside": ("网格 {code} 不在您的管辖范围（{grid_code}）内",
                                 "grid {code} is outside your jurisdiction "
                                 "({grid_code})"),
    "err_must_be_true_false": ("{field} 应为 true 或 false",
                               "'{field}' must be true or false"),
    "err_webhook_unknown_field": ("未知字段 {name}；可改：{fields}",
                                  "unknown field {name!r}; one of {fields}"),
    "err_no_webhook": ("没有编号为 {webhook_id} 的推送地址",
                       "no webhook {webhook_id}"),
    "err_webhook_disabled": ("推送地址已停用", "the webhook is disabled"),
    "err_webhook_not_delivered": ("推送 {delivery_id} 未送达：{error}",
                                  "delivery {delivery_id} was not taken: {error}"),
    "err_no_job": ("没有编号为 {job_id} 的后台任务", "no job {job_id}"),
    "err_job_not_failed": ("后台任务 {job_id} 的状态为 {status}：只有失败的任务可以"
                           "重试", "job {job_id} is {status}: only a failed job "
                           "may be retried"),
    "err_batch_month_required": ("patrol-coverage 须给出月份：--month YYYY-MM",
                                 "patrol-coverage needs a month: --month YYYY-MM"),
    "err_batch_county": ("区县代码应为 6 位数字，实为“{value}”",
                         "a county code is 6 digits, not {value!r}"),
    "err_batch_no_grids": ("区县 {counties} 下没有微网格",
                           "no micro-grid in county {counties}"),
    "err_batch_changed": ("分区 {partition} 的数据在计算期间被修改，未写入：请重新运行",
                          "the data of partition {partition} changed while it was "
                          "computed: nothing written, run the job again"),
    "err_action_not_allowed": ("事件 {code} 当前为{label}（{status}），不能执行 "
                               "{action}；可执行：{allowed}",
                               "cannot {action} incident {code}: it is {status} "
                               "({label}); allowed: {allowed}"),
    "err_escalate_top": ("事件 {code} 已在一级网格（镇街），不能再提级",
                         "incident {code} is already at level 1 (town); it cannot "
                         "be escalated further"),
    "err_satisfaction": ("satisfaction 应为 1 到 5 的整数",
                         "'satisfaction' must be a whole number from 1 to 5"),
    "err_assignee_id": ("assignee_id 应为网格人员编号",
                        "'assignee_id' must be a staff id"),
    "err_assignee_not_staff": ("人员 {assignee} 不是事件 {code} 所在网格的在岗人员",
                               "staff {assignee} is not active staff of incident "
                               "{code}'s grids"),
    "err_grid_no_staff": ("事件 {code} 所在的 {escalation_level} "
                          "级网格没有人员：请指定部门或 assignee_id",
                          "the level-{escalation_level} grid of incident {code} has "
                          "no staff; give a department or an assignee_id"),
    # layers/tiles.py
    "err_no_tile_layer": ("没有图层“{layer}”；可用图层：{layers}",
                          "no tile layer {layer!r}; layers: {layers}"),
    "err_zoom_range": ("缩放级别应在 0 到 {max_zoom} 之间，实为 {z}",
                       "zoom must be between 0 and {max_zoom}, got {z}"),
    "err_from_and_to": ("请同时给出 from 和 to（YYYY-MM-DD），或都不给以查看未结事件",
                        "give both 'from' and 'to' (YYYY-MM-DD), or neither for the "
                        "open incidents"),
    "err_from_after_to": ("起始日期（from）晚于截止日期（to）", "'from' is after 'to'"),
    "err_window_days": ("时间窗最多 {days} 天", "a window spans at most {days} days"),
    "err_tile_index": ("缩放级别 {z} 下 {name} 应在 0 到 {top} 之间，实为 {value}",
                       "{name} must be between 0 and {top} at zoom {z}, got {value}"),
    "err_tile_shift": ("shift 应为 gcj02 或 bd09（与底图坐标系一致），实为“{value}”",
                       "shift must be gcj02 or bd09 (the basemap's system), got "
                       "{value!r}"),
    # web/basemap.py (start-up: the deployment's basemap setting)
    "err_basemap_unknown": ("底图“{name}”未知；可选：{names}（GRIDGOV_BASEMAP）",
                            "unknown basemap {name!r}; use one of {names} "
                            "(GRIDGOV_BASEMAP)"),
    "err_basemap_key": ("底图 {name} 需要密钥：请设置 GRIDGOV_BASEMAP_KEY",
                        "basemap {name} needs a key: set GRIDGOV_BASEMAP_KEY"),
    "err_basemap_url": ("自定义底图需要瓦片地址：请设置 GRIDGOV_BASEMAP_URL",
                        "the custom basemap needs a tile URL: set GRIDGOV_BASEMAP_URL"),
    "err_basemap_crs": ("底图坐标系“{crs}”未知；可选：{names}（GRIDGOV_BASEMAP_CRS）",
                        "unknown basemap coordinate system {crs!r}; use one of "
                        "{names} (GRIDGOV_BASEMAP_CRS)"),
    "err_basemap_file": ("离线底图 {path} 无法读取：{reason}（GRIDGOV_BASEMAP_FILE）",
                         "the offline basemap {path} cannot be read: {reason} "
                         "(GRIDGOV_BASEMAP_FILE)"),
    # web/cli_import.py
    "err_user_disabled": ("用户 {username} 已停用", "user {username} is disabled"),
    # web/cli.py
    "err_schema_pending": ("数据库结构不是最新（待执行 {pending}）：请运行 `gridgov "
                           "db migrate`",
                           "the schema is not up to date ({pending} pending): run "
                           "`gridgov db migrate`"),
    "err_cert_key_pair": ("--cert 与 --key "
                          "须同时给出（GRIDGOV_TLS_CERT、GRIDGOV_TLS_KEY）：请同时给出 "
                          "{missing}",
                          "--cert and --key go together (GRIDGOV_TLS_CERT, "
                          "GRIDGOV_TLS_KEY): give {missing} too"),
    "err_cert_key_bad": ("--cert {cert} 与 --key {key} 不是 PEM "
                         "证书及其私钥（{error}）",
                         "--cert {cert} and --key {key} are not a PEM certificate "
                         "and its private key ({error})"),
    "err_cannot_listen": ("无法监听 "
                          "{host}:{port}（{strerror}）：请停止占用它的程序，或用 "
                          "--port 另选端口",
                          "cannot listen on {host}:{port} ({strerror}): stop what "
                          "uses it or choose another with --port"),
    "err_cannot_read_option": ("无法读取 {option} {path}（{error}）",
                               "cannot read {option} {path} ({error})"),
    # web/cli_common.py
    "err_db_unreachable": ("无法连接数据库：{first}（请检查 "
                           "GRIDGOV_DATABASE_URL，或取消设置以使用私有集群）",
                           "cannot reach the database: {first} (check "
                           "GRIDGOV_DATABASE_URL, or unset it to use the private "
                           "cluster)"),
    # web/cli_users.py
    "err_staff_or_unlink": ("请给出 --staff ID 或 --unlink",
                            "give either --staff ID or --unlink"),
    "err_grid_or_everywhere": ("请给出 --grid CODE 或 --everywhere，不能同时给出",
                               "give --grid CODE or --everywhere, not both"),
    # web/plan.py
    "err_no_grid_to_plan": ("您的管辖范围内没有可规划的编码为 {code} 的网格",
                            "no grid with code {code} to plan in your jurisdiction"),
    "err_no_grid_to_check": ("您的管辖范围内没有可检查的编码为 {root} 的网格",
                             "no grid with code {root} to check in your jurisdiction"),
    # /ogc, /api/v1/exports and HTTP Basic
    "export_an_export_carries_at_most": (
        "导出最多 {cap} 个要素，此次有 {n} 个：请用 grid、level 或筛选条件缩小范围",
        "an export carries at most {cap} features, this one has {n}: narrow it with "
        "grid, level or the filters"),
    "export_parameter_name_must_be_one": (
        "参数“{name}”须为 {value} 之一，收到 {value2}",
        "parameter '{name}' must be one of {value3}, got {value2}"),
    "export_parameter_crs_must_be_wgs": (
        "参数“crs”须为 wgs84、cgcs2000、gcj02 或 gk3-<带号>（25–45），收到 {raw_r}",
        "parameter 'crs' must be wgs84, cgcs2000, gcj02 or gk3-<zone> (a CGCS2000 "
        "3-degree Gauss-Krüger zone, 25–45), got {raw_r}"),
    "export_value_is_wgs_by_its": (
        "{value} 按其规范只用 WGS-84 坐标，不能输出 {raw}；请选 gpkg、shp、csv 或 xlsx",
        "{value} is WGS-84 by its specification, so it cannot be written in {raw}: "
        "choose gpkg, shp, csv or xlsx"),
    "export_no_layer_layer_r_to": (
        "没有可导出的图层“{layer}”：可选 {value}",
        "no layer {layer_r} to export: one of {value2}"),
    "export_your_role_role_may_not": (
        "您的角色（{role}）不能导出“{layer}”",
        "your role ({role}) may not export {layer_r} ({value})"),
    "map_export_layer_too_large": (
        "图层“{layer}”超过一个 HTML 地图可容纳的 {cap} 个要素：请缩小范围或关闭该图层",
        "layer {layer} has more than the {cap} features one HTML map can hold: "
        "narrow the view or leave the layer out"),
    "map_export_forbidden_layer": (
        "您的角色（{role}）不能导出图层“{layer}”",
        "your role ({role}) may not export layer {layer}"),
    "export_no_grid_grid_r_in": (
        "您的辖区内没有网格“{grid}”",
        "no grid {grid_r} in your jurisdiction"),
    "ogc_format_f_f_r_is": (
        "不支持的格式 f={f_r}：只提供 JSON（f=json）",
        "format f={f_r} is not supported: JSON only (f=json)"),
    "ogc_parameter_datetime_must_be_an": (
        "参数“datetime”须为时刻或区间 起/止，收到 {raw_r}",
        "parameter 'datetime' must be an instant or an interval start/end, got "
        "{raw_r}"),
    "ogc_parameter_datetime_starts_after_it": (
        "参数“datetime”的起点晚于终点",
        "parameter 'datetime' starts after it ends"),
    "ogc_gridgov_s_layers_ogc_api": (
        "网格化治理平台的图层（OGC API – Features）",
        "gridgov's layers (OGC API – Features)"),
    "ogc_collection_cid_r_has_no": (
        "集合“{cid}”没有时间属性，不能用 datetime 筛选",
        "collection {cid_r} has no time: 'datetime' does not apply"),
    "ogc_collection_cid_r_cannot_be": (
        "集合“{cid}”不能这样修改（只有网格可编辑；新建与删除只限四级网格）",
        "collection {cid_r} cannot be changed so (only grids are editable; creating "
        "and deleting: micro-grids, grids-4)"),
    "ogc_an_edit_needs_if_match": (
        "修改须带 If-Match（先读取要素得到 ETag，即网格的版本号）",
        "an edit needs If-Match (the ETag of the feature: the grid's version)"),
    "ogc_grid_fid_was_changed_by": (
        "网格 {fid} 已被他人修改（现为版本 {current_version}）：请重新读取",
        "grid {fid} was changed by someone else (now version {current_version}): "
        "read it again"),
    "ogc_the_body_must_be_a": (
        "请求体须为 GeoJSON Feature",
        "the body must be a GeoJSON Feature"),
    "ogc_properties_must_be_an_object": (
        "“properties”须为对象",
        "'properties' must be an object"),
    "ogc_a_new_grid_needs_properties": (
        "新网格须有 properties.parent（三级网格编码）与 name",
        "a new grid needs properties.parent (a level-3 code) and name"),
    "ogc_unknown_parameter_name_r_known": (
        "未知参数“{name}”；可用：{value}",
        "unknown parameter {name_r}; known: {value}"),
    "ogc_no_collection_cid_r": (
        "没有集合“{cid}”",
        "no collection {cid_r}"),
    "ogc_your_role_role_may_not": (
        "您的角色（{role}）不能读取“{cid}”",
        "your role ({role}) may not read {cid_r} ({permission})"),
    "ogc_no_feature_fid_in_id": (
        "“{id}”中没有要素 {fid}",
        "no feature {fid} in {id_r}"),
    "ogc_households_names_phones_and_id": (
        "住户：姓名、电话、证件号按角色脱敏；每次读取都记入审计",
        "households: names, phones and ID numbers masked per role; every read is "
        "audited"),
    "ogc_video_cameras": (
        "视频监控点位",
        "video cameras"),
    "ogc_incidents_datetime_the_time_received": (
        "事件（按受理时间筛选 datetime）；每次读取都记入审计",
        "incidents (datetime: the time received); every read is audited"),
    "ogc_grid_workers_patrol_tracks_one": (
        "网格员巡查轨迹，每人每天一条（datetime：日期）",
        "grid workers' patrol tracks, one per worker and day (datetime: the day)"),
    "ogc_parameter_name_is_out_of": (
        "参数“{name}”超出范围：{value}",
        "parameter '{name}' is out of range: {value}"),
    "ogc_grid_boundaries_of_level_level": (
        "第 {level} 级网格的边界",
        "grid boundaries of level {level}"),
    "ogc_parameter_name_must_be_an": (
        "参数“{name}”须为整数，收到 {value}",
        "parameter '{name}' must be an integer, got {value}"),
    "auth_user_name_and_api_token": (
        "用户名与 API 令牌不符（HTTP Basic 的密码须为 API 令牌，不能用登录密码）",
        "user name and API token do not match (HTTP Basic takes an API token as the "
        "password, never the login password)"),
}


def _merge(*sections):
    merged = {}
    for section in sections:
        for key, value in section.items():
            if key in merged:
                raise ValueError(f"catalogue key {key!r} twice")
            merged[key] = value
    return merged


CATALOGUE = _merge(COMMON, PAGES, READERS, CHECKS, ERRORS)


def pair(key, /, **values):
    """``(中文, English)`` of ``key`` with ``values`` filled in."""
    zh, en = CATALOGUE[key]
    return zh.format_map(values), en.format_map(values)


def say(key, /, **values):
    """One sentence in both languages, ``中文（English）``.

    >>> say("file_empty")
    '文件是空的（the file is empty）'
    """
    return bilingual(*pair(key, **values))


def text(key, lang="zh", /, **values):
    """``key`` in one language, ``"zh"`` or ``"en"``; without ``values`` the
    template as it is (placeholders left for the caller or the script)."""
    found = pair(key, **values) if values else CATALOGUE[key]
    return found[0 if lang == "zh" else 1]


def both(key, /, **values):
    """A label in both languages, ``中文 English`` (placeholders kept without
    ``values``, as :func:`text`)."""
    zh, en = pair(key, **values) if values else CATALOGUE[key]
    return f"{zh} {en}"

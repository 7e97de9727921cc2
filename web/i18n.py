"""Strings the user reads: Chinese first, English second, from one table."""

from geo import vocab
from layers.access import ROLE_PERMISSIONS

__all__ = ["STRINGS", "t", "both", "level_name", "role_label"]

STRINGS = {
    "app_title": ("综治网格地图", "Grid governance map"),
    "households": ("住户", "Households"),
    "cameras": ("视频监控", "Cameras"),
    "grid_chain": ("网格归属", "Grid chain"),
    "staff": ("网格力量", "Grid staff"),
    "cameras_seeing": ("可视摄像头", "Cameras seeing this spot"),
    "outside": ("此处不在任何网格内", "This spot lies outside every grid"),
    "loading": ("查询中…", "Looking up…"),
    "failed": ("查询失败", "Lookup failed"),
    "none": ("无", "none"),
    "name": ("名称", "Name"),
    "code": ("编码", "Code"),
    "household_count": ("户数", "Households"),
    "metres": ("米", "m"),
    "nav_map": ("地图", "Map"),
    "nav_plan": ("网格规划", "Grid planning"),
    "nav_audit": ("审计日志", "Audit log"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "wrong_login": ("用户名或密码错误", "Wrong user name or password"),
    "throttled": ("登录失败次数过多，请15分钟后再试",
                  "Too many failed logins: try again in 15 minutes"),
    "forbidden": ("无权访问", "Not allowed"),
    "forbidden_text": ("您的角色无权访问此页面。", "Your role may not open this page."),
    "plan_title": ("网格规划", "Grid planning"),
    # the planners' page /plan (web/plan.py, web/static/plan.js)
    "plan_parent": ("上级网格", "Parent grid"),
    "plan_open": ("打开", "Open"),
    "plan_redraw": ("修改边界", "Redraw"),
    "plan_split": ("拆分", "Split"),
    "plan_merge": ("合并", "Merge"),
    "plan_preview": ("预览", "Preview"),
    "plan_save": ("保存", "Save"),
    "plan_cancel": ("取消", "Cancel"),
    "plan_reload": ("刷新", "Reload"),
    "plan_hint": ("点击地图上的网格选中它，再选择“修改边界”“拆分”或“合并”。",
                  "Click a grid on the map to select it, then Redraw, Split or "
                  "Merge."),
    "plan_hint_redraw": ("拖动白色顶点修改边界（单击顶点可删除），然后点击“预览”。",
                         "Drag the white vertices (click one to delete it), then "
                         "press Preview."),
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
    "plan_only_micro": ("拆分与合并只适用于微网格（四级）",
                        "Split and merge apply to micro-grids (level 4) only"),
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
    "plan_grid": ("网格", "Grid"),
    "plan_before": ("原面积（m²）", "Before (m²)"),
    "plan_after": ("新面积（m²）", "After (m²)"),
    "plan_changed": ("边界变更的网格", "Grids whose boundary changes"),
    "plan_created": ("新建", "new"),
    "plan_removed": ("撤销", "removed"),
    "plan_new_name": ("新网格名称（可选）", "New grid's name (optional)"),
    "plan_moves": ("归属变更", "Changes of grid"),
    "plan_incidents": ("未结事件", "Open incidents"),
    "plan_household": ("住户编号", "Household"),
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
    "audit_title": ("审计日志", "Audit log"),
    "filter": ("筛选", "Filter"),
    "all": ("全部", "all"),
    "time": ("时间", "Time"),
    "user": ("用户", "User"),
    "action": ("操作", "Action"),
    "table": ("对象", "Table"),
    "key": ("编号", "Key"),
    "change": ("变更", "Change"),
    "since": ("起", "From"),
    "nav_users": ("用户管理", "Users"),
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
    "last_used": ("最近使用", "Last used"),
    "revoke": ("吊销", "Revoke"),
    "new_user": ("新建用户", "New user"),
    "create": ("创建", "Create"),
    "user_created": ("用户已创建", "User created"),
    "user_updated": ("用户已更新", "User updated"),
    "token_created": ("新令牌（仅显示一次，请妥善保存）", "New token (shown once)"),
    "token_revoked": ("令牌已吊销", "Token revoked"),
    "until": ("止", "To"),
}


def t(key, lang="zh"):
    """One string in ``lang`` ("zh" or "en")."""
    zh, en = STRINGS[key]
    return zh if lang == "zh" else en


def both(key):
    """Chinese and English together, for labels that must read in either."""
    zh, en = STRINGS[key]
    return f"{zh} {en}"


def level_name(level):
    """The bilingual name of a grid level, e.g. '四级网格（微网格） Level 4 …'."""
    zh, en = vocab.GRID_LEVELS[level]
    return f"{zh} {en}"


def role_label(role):
    """The Chinese name of a user role, e.g. '网格规划员'."""
    return ROLE_PERMISSIONS[role][0]

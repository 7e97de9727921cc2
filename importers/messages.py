"""What the readers tell the user, Chinese first and English second.

Field workers at a township centre read Chinese; logs, scripts and older tests
read the English words. Every message a reader gives (a refused file, a rejected
row, a warning, a note on the CRS) is built here by :func:`say` from one
template pair with named placeholders, in one form: ``中文（English）``. The
English part keeps the words the readers used before the Chinese was added.
Technical details of a third-party error (a parser's own words) go in the English
part only.

The checks of :mod:`layers.import_checks` have their own catalogue,
:mod:`layers.import_messages`, in the same form: layers/ may not import
importers/ (nor the reverse), and geo/ is the only package both may use.

>>> say("file_empty")
'文件是空的（the file is empty）'
"""

from geo.vocab import BILINGUAL, bilingual

__all__ = ["FORM", "MESSAGES", "say", "thing", "place", "invalid_reason", "rows_en"]

FORM = BILINGUAL  # geo.vocab: one form for every bilingual message

# what a file or archive is called in messages, English → Chinese
_THINGS = {"XML file": "XML 文件", "GPX file": "GPX 文件", "KML file": "KML 文件",
           "KMZ file": "KMZ 文件", "zip archive": "zip 压缩包",
           "gzip file": "gzip 文件",
           "zipped shapefile": "shapefile 压缩包", "workbook": "工作簿",
           "the file": "文件", "the GeoJSON crs member": "GeoJSON 的 crs 成员",
           "the .prj": ".prj 文件", "shapefile": "shapefile", "gpkg": "GeoPackage"}

# key -> (zh, en); placeholders as in str.format
MESSAGES = {
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

# the reasons shapely gives for an invalid geometry (GEOS' words), in Chinese
_INVALID = {"Self-intersection": "自相交", "Ring Self-intersection": "环自相交",
            "Too few points": "点数过少", "Hole lies outside shell": "内环在外环之外",
            "Nested holes": "内环嵌套", "Interior is disconnected": "内部不连通",
            "Nested shells": "外环嵌套", "Duplicate Rings": "环重复",
            "Invalid Coordinate": "坐标无效", "Ring is not closed": "环未闭合"}


def say(key, /, **values):
    """The message ``key`` with ``values`` filled in, as ``中文（English）``."""
    zh, en = MESSAGES[key]
    return bilingual(zh.format_map(values), en.format_map(values))


def thing(what):
    """The Chinese name of a file or archive named in English messages."""
    return _THINGS.get(what, what)


def place(where):
    """``(English, Chinese)`` of what holds a CRS: a pair as given, or an English
    name known to :func:`thing`."""
    return tuple(where) if isinstance(where, tuple) else (where, thing(where))


def invalid_reason(reason):
    """shapely's ``Self-intersection[119.1 31.2]`` → ``自相交，位于 119.1 31.2``."""
    words, _, at = reason.partition("[")
    zh = _INVALID.get(words.strip(), words.strip())
    return f"{zh}，位于 {at.rstrip(']')}" if at else zh


def rows_en(n, verb="look"):
    """``1 row looks`` / ``3 rows look`` (``had`` stays ``had``)."""
    n = int(n)
    return f"{n} row {verb}s" if n == 1 and verb == "look" else (
        f"{n} row{'' if n == 1 else 's'} {verb}")

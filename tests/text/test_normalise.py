"""normalise_vi on announcement phrasing: each expected string is the spoken form, by hand."""

from __future__ import annotations

import unicodedata

import pytest

from broadcaster.text import NormaliseOptions, normalise_vi

Y2022 = "hai nghìn không trăm hai mươi hai"
Y2023 = "hai nghìn không trăm hai mươi ba"
Y2024 = "hai nghìn không trăm hai mươi tư"
UBND = "Ủy ban nhân dân"

NUMBERS = [
    ("Năm 2023 xã có 2.360 hộ.", f"Năm {Y2023} xã có hai nghìn ba trăm sáu mươi hộ."),
    ("Toàn tỉnh có 208 xã.", "Toàn tỉnh có hai trăm linh tám xã."),
    ("31 thôn, 45 tổ dân phố", "ba mươi mốt thôn, bốn mươi lăm tổ dân phố"),
    ("15 hộ và 10 hộ", "mười lăm hộ và mười hộ"),
    ("21 người, 24 người, 14 người", "hai mươi mốt người, hai mươi tư người, mười bốn người"),
    ("thu 1.000.000 đồng", "thu một triệu đồng"),
    ("hỗ trợ 1.500.000 đồng", "hỗ trợ một triệu năm trăm nghìn đồng"),
    ("từ năm 2019", "từ năm hai nghìn không trăm mười chín"),
    ("đã tiếp nhận 18.328 hồ sơ", "đã tiếp nhận mười tám nghìn ba trăm hai mươi tám hồ sơ"),
    (
        "dân số 1.234.567 người",
        "dân số một triệu hai trăm ba mươi tư nghìn năm trăm sáu mươi bảy người",
    ),
    ("đạt 7,5 điểm", "đạt bảy phẩy năm điểm"),
    ("tăng 3,25 lần", "tăng ba phẩy hai mươi lăm lần"),
    ("tỷ lệ 0,05", "tỷ lệ không phẩy không năm"),
    ("nhiệt độ -5 độ", "nhiệt độ âm năm độ"),
    ("cung cấp 100% dịch vụ công", "cung cấp một trăm phần trăm dịch vụ công"),
    (
        "80 dịch vụ công trực tuyến mức độ 3, mức độ 4",
        "tám mươi dịch vụ công trực tuyến mức độ ba, mức độ bốn",
    ),
    ("trong 9 tháng năm 2020", "trong chín tháng năm hai nghìn không trăm hai mươi"),
    ("nguồn vốn 2000000000000 đồng", "nguồn vốn hai nghìn tỷ đồng"),
    ("kinh phí 1.000.000.000 đồng", "kinh phí một tỷ đồng"),
    ("tổng 1,5 tỷ đồng", "tổng một phẩy năm tỷ đồng"),
    ("bệnh Covid-19", "bệnh Covid mười chín"),
    ("mạng 4G", "mạng bốn G"),
    ("tổ 05", "tổ năm"),
    ("mã hồ sơ 000123", "mã hồ sơ không không không một hai ba"),
]

DATES = [
    (
        "Thực hiện Kế hoạch số 14/KH-UBND ngày 26/01/2022 của UBND phường",
        f"Thực hiện Kế hoạch số mười bốn kế hoạch {UBND} ngày hai mươi sáu tháng một năm {Y2022} "
        f"của {UBND} phường",
    ),
    (
        "hoàn thành trước ngày 9/8/2019.",
        "hoàn thành trước ngày chín tháng tám năm hai nghìn không trăm mười chín.",
    ),
    ("15/6/2023", f"ngày mười lăm tháng sáu năm {Y2023}"),
    ("Ngày 15/6/2023 họp", f"Ngày mười lăm tháng sáu năm {Y2023} họp"),
    ("khai giảng 02/09/2024", f"khai giảng ngày hai tháng chín năm {Y2024}"),
    ("tính từ ngày 01/01/2022)", f"tính từ ngày một tháng một năm {Y2022},"),
    (
        "ngày 24/12/2021 của UBND thị xã",
        f"ngày hai mươi tư tháng mười hai năm hai nghìn không trăm hai mươi mốt của {UBND} thị xã",
    ),
    ("ngày 29/2/2024", f"ngày hai mươi chín tháng hai năm {Y2024}"),
    ("ngày 15.6.2023", f"ngày mười lăm tháng sáu năm {Y2023}"),
    ("ngày 26 tháng 01 năm 2022", f"ngày hai mươi sáu tháng một năm {Y2022}"),
    (
        "Ngày 04 tháng 11 năm 2021, UBND huyện",
        f"Ngày bốn tháng mười một năm hai nghìn không trăm hai mươi mốt, {UBND} huyện",
    ),
    (
        "Đức Thọ, ngày 30 tháng 9 năm 2020",
        "Đức Thọ, ngày ba mươi tháng chín năm hai nghìn không trăm hai mươi",
    ),
    ("tháng 4 năm 2022", f"tháng tư năm {Y2022}"),
    ("Tứ Kỳ, ngày tháng 4 năm 2022", f"Tứ Kỳ, ngày tháng tư năm {Y2022}"),
    ("tháng 7/2023", f"tháng bảy năm {Y2023}"),
    ("Tháng 12/2024 tổng kết", f"Tháng mười hai năm {Y2024} tổng kết"),
    ("báo cáo tháng 1", "báo cáo tháng một"),
    ("ngày 15/6 họp tổ", "ngày mười lăm tháng sáu họp tổ"),
    ("từ ngày 15/6 đến 20/6", "từ ngày mười lăm tháng sáu đến ngày hai mươi tháng sáu"),
    ("ngày 32/13/2023", "ngày ba mươi hai trên mười ba trên hai nghìn không trăm hai mươi ba"),
    ("ngày 31/2/2023", "ngày ba mươi mốt trên hai trên hai nghìn không trăm hai mươi ba"),
    ("đạt 20/25 xã", "đạt hai mươi trên hai mươi lăm xã"),
    ("quý 2/2023", f"quý hai năm {Y2023}"),
    ("Quý III/2024", f"Quý ba năm {Y2024}"),
    ("quý 1/2022 của các xã", f"quý một năm {Y2022} của các xã"),
    ("quý IV", "quý bốn"),
    (
        "giai đoạn 2021-2025",
        "giai đoạn hai nghìn không trăm hai mươi mốt đến hai nghìn không trăm hai mươi lăm",
    ),
    (
        "giai đoạn 2021 - 2025",
        "giai đoạn hai nghìn không trăm hai mươi mốt đến hai nghìn không trăm hai mươi lăm",
    ),
]

TIMES = [
    ("lúc 8h15", "lúc tám giờ mười lăm phút"),
    ("lúc 16h45 chiều", "lúc mười sáu giờ bốn mươi lăm phút chiều"),
    ("đúng 20 giờ", "đúng hai mươi giờ"),
    ("lúc 8:15", "lúc tám giờ mười lăm phút"),
    ("từ 7h sáng", "từ bảy giờ sáng"),
    ("bắt đầu 7h30'", "bắt đầu bảy giờ ba mươi phút"),
    ("kết thúc 17h00.", "kết thúc mười bảy giờ."),
    ("lúc 8h05", "lúc tám giờ năm phút"),
    ("lúc 9h30 phút", "lúc chín giờ ba mươi phút"),
    (
        "từ 7h30 đến 11h00, thứ 2 đến thứ 6",
        "từ bảy giờ ba mươi phút đến mười một giờ, thứ hai đến thứ sáu",
    ),
    ("làm việc 8h-11h", "làm việc tám giờ đến mười một giờ"),
    (
        "phát sóng 05:30–06:30 và 17:00 - 18:00",
        "phát sóng năm giờ ba mươi phút đến sáu giờ ba mươi phút và mười bảy giờ đến mười tám giờ",
    ),
    ("tỉ số 3:1", "tỉ số ba: một"),
    ("diện tích 5ha", "diện tích năm héc ta"),
]

ORDINALS = [
    ("thứ 5 hằng tuần", "thứ năm hằng tuần"),
    ("vào thứ 2", "vào thứ hai"),
    ("Thứ 4 tuần sau", "Thứ tư tuần sau"),
    ("thứ 7 và Chủ nhật", "thứ bảy và Chủ nhật"),
    ("từ thứ 2 đến CN", "từ thứ hai đến Chủ nhật"),
    ("Thứ 1, mở ứng dụng", "Thứ nhất, mở ứng dụng"),
    ("đạt hạng 1", "đạt hạng nhất"),
    ("lần thứ 4", "lần thứ tư"),
    ("Đại hội lần thứ XIII", "Đại hội lần thứ mười ba"),
    ("Phần IV", "Phần bốn"),
    ("Chương II", "Chương hai"),
    ("thế kỷ XXI", "thế kỷ hai mươi mốt"),
    ("I. MỤC ĐÍCH, YÊU CẦU", "Một. MỤC ĐÍCH, YÊU CẦU"),
    ("II. NỘI DUNG TUYÊN TRUYỀN", "Hai. NỘI DUNG TUYÊN TRUYỀN"),
    ("III.TỔ CHỨC THỰC HIỆN", "Ba. TỔ CHỨC THỰC HIỆN"),
    ("IV. Kinh phí", "Bốn. Kinh phí"),
    ("1. Công chức Văn hóa - Xã hội:", "một. Công chức Văn hóa, Xã hội:"),
    ("1.2. Nội dung", "một chấm hai. Nội dung"),
    ("I think so, I said", "I think so, I said"),
    ("Khu C. Tổ 1", "Khu C. Tổ một"),
    ("C. Tổ chức", "C. Tổ chức"),
]

RANGES_PER_UNITS = [
    ("nghỉ 5-7 ngày", "nghỉ năm đến bảy ngày"),
    ("từ 5 - 7 ngày", "từ năm đến bảy ngày"),
    ("tiêm 2 buổi/ngày", "tiêm hai buổi mỗi ngày"),
    ("bố trí 10 hộ/tổ", "bố trí mười hộ mỗi tổ"),
    ("tuyên truyền 3 lần/tuần", "tuyên truyền ba lần mỗi tuần"),
    (
        "Yêu cầu thực hiện tuyên truyền 3 lần/ tuần và cập nhật",
        "Yêu cầu thực hiện tuyên truyền ba lần mỗi tuần và cập nhật",
    ),
    (": 20 hồ sơ/đơn vị.", "hai mươi hồ sơ mỗi đơn vị."),
    ("phí 50.000đ/hồ sơ", "phí năm mươi nghìn đồng mỗi hồ sơ"),
    ("lệ phí 200.000đ", "lệ phí hai trăm nghìn đồng"),
    ("giá 50.000 VNĐ", "giá năm mươi nghìn đồng"),
    ("giá 50.000 VND", "giá năm mươi nghìn đồng"),
    ("mức 30.000 đ", "mức ba mươi nghìn đồng"),
    ("đạt dưới 40%", "đạt dưới bốn mươi phần trăm"),
    ("đạt 95,5%", "đạt chín mươi lăm phẩy năm phần trăm"),
    ("Đạt tỷ lệ 25% trở lên.", "Đạt tỷ lệ hai mươi lăm phần trăm trở lên."),
    ("tăng 5-7%", "tăng năm đến bảy phần trăm"),
    ("đường dài 12 km", "đường dài mười hai ki lô mét"),
    ("nhà 100 m2", "nhà một trăm mét vuông"),
    ("nhà 80m²", "nhà tám mươi mét vuông"),
    ("trồng 3 ha lúa", "trồng ba héc ta lúa"),
    ("bán 50 kg gạo", "bán năm mươi ki lô gam gạo"),
    ("rộng 2 m", "rộng hai mét"),
    ("cách 150 cm", "cách một trăm năm mươi xen ti mét"),
    ("tốc độ 40 km/h", "tốc độ bốn mươi ki lô mét một giờ"),
    ("nắng nóng 38°C", "nắng nóng ba mươi tám độ xê"),
    ("mưa 120 mm", "mưa một trăm hai mươi mi li mét"),
    ("đội m đi", "đội m đi"),
    ("Zalo, ha ha", "Zalo, ha ha"),
]

PHONES = [
    ("Hotline: 0239.3855.555", "Hotline: không hai ba chín, ba tám năm năm, năm năm năm"),
    ("gọi 0912 345 678", "gọi không chín một hai, ba bốn năm, sáu bảy tám"),
    ("0912 345 678", "không chín một hai, ba bốn năm, sáu bảy tám"),
    ("số 0912345678", "số không chín một hai, ba bốn năm, sáu bảy tám"),
    ("tổng đài 1800 9090", "tổng đài một tám không không, chín không chín không"),
    ("gọi 1900.1234", "gọi một chín không không, một hai ba bốn"),
    (
        "Đường dây nóng của thị xã: 0239 3856 789",
        "Đường dây nóng của thị xã: không hai ba chín, ba tám năm sáu, bảy tám chín",
    ),
    ("Khi có cháy gọi 114.", "Khi có cháy gọi một một bốn."),
    ("gọi ngay 113, 114, 115", "gọi ngay một một ba, một một bốn, một một năm"),
    (
        "Cấp cứu gọi 115 hoặc 0912.000.115",
        "Cấp cứu gọi một một năm hoặc không chín một hai, không không không, một một năm",
    ),
    ("SĐT: 0912-345-678", "số điện thoại: không chín một hai, ba bốn năm, sáu bảy tám"),
    ("ĐT: 02393 855 555", "điện thoại: không hai ba chín ba, tám năm năm, năm năm năm"),
    (
        "điện thoại 0239.3856.123 (giờ hành chính)",
        "điện thoại không hai ba chín, ba tám năm sáu, một hai ba, giờ hành chính,",
    ),
    ("liên hệ +84 912 345 678", "liên hệ cộng tám tư, chín một hai, ba bốn năm, sáu bảy tám"),
    ("Quyết định số 113 năm nay", "Quyết định số một trăm mười ba năm nay"),
    ("kêu gọi 500 đoàn viên", "kêu gọi năm trăm đoàn viên"),
    ("gọi điện cho 150 hộ", "gọi điện cho một trăm năm mươi hộ"),
    ("điện thoại năm 2023 có 150 hộ dùng", f"điện thoại năm {Y2023} có một trăm năm mươi hộ dùng"),
    ("Zalo 0912345678", "Zalo không chín một hai, ba bốn năm, sáu bảy tám"),
]

ADDRESSES = [
    ("truy cập https://dichvucong.gov.vn", "truy cập dịch vụ công chấm gờ o vê chấm vê en"),
    ("địa chỉ dichvucong.gov.vn.", "địa chỉ dịch vụ công chấm gờ o vê chấm vê en."),
    (
        "tại địa chỉ: http://dichvucong.hatinh.gov.vn):",
        "tại địa chỉ: dịch vụ công chấm Hà Tĩnh chấm gờ o vê chấm vê en:",
    ),
    (
        "địa chỉ: Http://ict.hatinh.gov.vn).",
        "địa chỉ: i xê tê chấm Hà Tĩnh chấm gờ o vê chấm vê en.",
    ),
    ("vào www.hatinh.gov.vn", "vào vê kép vê kép vê kép chấm Hà Tĩnh chấm gờ o vê chấm vê en"),
    (
        "xem https://dichvucong.gov.vn/p/home/dvc-trang-chu.html để biết",
        "xem dịch vụ công chấm gờ o vê chấm vê en để biết",
    ),
    (
        "gửi thư về ubnd@hatinh.gov.vn",
        "gửi thư về u bê en đê a còng Hà Tĩnh chấm gờ o vê chấm vê en",
    ),
    ("e-mail: vanthu.ubnd@gmail.com", "e mail: vanthu chấm u bê en đê a còng Gmail chấm com"),
    ("trang baohatinh.vn", "trang baohatinh chấm vê en"),
    ("ứng dụng VNeID", "ứng dụng VNeID"),
    (
        "kênh Zalo, Youtube, Facebook…(Kênh thông tin",
        "kênh Zalo, Youtube, Facebook, Kênh thông tin",
    ),
    ("hồ sơ.Tiếp theo", "hồ sơ. Tiếp theo"),
]

DOCUMENTS = [
    ("Thông báo 256/TB-UBND", f"Thông báo số hai trăm năm mươi sáu thông báo {UBND}"),
    ("theo Kế hoạch số 14/KH-UBND", f"theo Kế hoạch số mười bốn kế hoạch {UBND}"),
    (
        "Quyết định số 1174/QĐ-UBND ngày 03/5/2017",
        f"Quyết định số một nghìn một trăm bảy mươi tư quyết định {UBND} ngày ba tháng năm năm "
        "hai nghìn không trăm mười bảy",
    ),
    ("Chỉ thị 05/CT-TTg", "Chỉ thị số năm chỉ thị Thủ tướng"),
    (
        "Nghị định số 61/2018/NĐ-CP",
        "Nghị định số sáu mươi mốt năm hai nghìn không trăm mười tám nghị định Chính phủ",
    ),
    (
        "Công văn số 1574/UBND-VHTT ngày 4/7/2019",
        f"Công văn số một nghìn năm trăm bảy mươi tư {UBND} văn hóa thông tin ngày bốn tháng bảy "
        "năm hai nghìn không trăm mười chín",
    ),
    ("Số: 2440/UBND-VH", f"Số: hai nghìn bốn trăm bốn mươi {UBND} vê hát"),
    (
        "Công văn số 461/STTTT-BCVTCNTT",
        "Công văn số bốn trăm sáu mươi mốt Sở Thông tin và Truyền thông bê xê vê tê xê en tê tê",
    ),
    ("Kế hoạch số 181/KH-UBND", f"Kế hoạch số một trăm tám mươi mốt kế hoạch {UBND}"),
    (
        "Thông tư 02/2017/TT-BTC",
        "Thông tư số hai năm hai nghìn không trăm mười bảy thông tư Bộ Tài chính",
    ),
]

ABBREVIATIONS = [
    (
        "UBMTTQ, các đoàn thể CT-XH phường;",
        "Ủy ban Mặt trận Tổ quốc, các đoàn thể chính trị, xã hội phường;",
    ),
    ("Công chức UBND phường;", f"Công chức {UBND} phường;"),
    (
        "tuyên truyền CCHC trên hệ thống truyền thanh",
        "tuyên truyền cải cách hành chính trên hệ thống truyền thanh",
    ),
    (
        "nộp và trả kết quả hồ sơ TTHC qua dịch vụ bưu chính công ích",
        "nộp và trả kết quả hồ sơ thủ tục hành chính qua dịch vụ bưu chính công ích",
    ),
    (
        "Đăng tải các nội dung sau lên Trang TTĐT:",
        "Đăng tải các nội dung sau lên Trang thông tin điện tử:",
    ),
    (
        "dịch vụ công trực tuyến (DVCTT) mức độ 3, 4",
        "dịch vụ công trực tuyến, dịch vụ công trực tuyến, mức độ ba, bốn",
    ),
    ("Trung tâm HCC thành phố", "Trung tâm Hành chính công thành phố"),
    ("Văn phòng HĐND - UBND thị xã", f"Văn phòng Hội đồng nhân dân, {UBND} thị xã"),
    ("Phối hợp với Văn phòng HĐND- UBND", f"Phối hợp với Văn phòng Hội đồng nhân dân, {UBND}"),
    ("của sở TT&TT", "của sở Thông tin và Truyền thông"),
    (
        "Sở TN&MT và Sở NN&PTNT",
        "Sở Tài nguyên và Môi trường và Sở Nông nghiệp và Phát triển nông thôn",
    ),
    ("- Lưu: VT, VHTT.", "Lưu: Văn thư, văn hóa thông tin."),
    ("KT. CHỦ TỊCH", "ký thay CHỦ TỊCH"),
    ("TM. ỦY BAN NHÂN DÂN", "thay mặt ỦY BAN NHÂN DÂN"),
    ("V/v tăng cường tuyên truyền,", "về việc tăng cường tuyên truyền,"),
    ("- Sở TT- TT Tỉnh (B/c);", "Sở TT, TT Tỉnh, báo cáo;"),
    ("BCĐ Chính quyền điện tử huyện;", "Ban Chỉ đạo Chính quyền điện tử huyện;"),
    ("Chủ tịch, các PCT UBND huyện;", f"Chủ tịch, các Phó Chủ tịch {UBND} huyện;"),
    ("CT UBND xã", f"Chủ tịch {UBND} xã"),
    ("thẻ BHYT và sổ BHXH", "thẻ bảo hiểm y tế và sổ bảo hiểm xã hội"),
    ("mang theo CCCD hoặc CMND", "mang theo căn cước công dân hoặc chứng minh nhân dân"),
    ("học sinh THPT và THCS", "học sinh trung học phổ thông và trung học cơ sở"),
    ("các HTX nông nghiệp", "các hợp tác xã nông nghiệp"),
    ("bảo đảm ATGT và PCCC", "bảo đảm an toàn giao thông và phòng cháy, chữa cháy"),
    ("ĐTN xã phối hợp với CSGT", "Đoàn Thanh niên xã phối hợp với cảnh sát giao thông"),
    (
        "cấp GCNQSDĐ tại VPĐKĐĐ",
        "cấp giấy chứng nhận quyền sử dụng đất tại Văn phòng Đăng ký đất đai",
    ),
    ("Sở LĐTBXH", "Sở Lao động, Thương binh và Xã hội"),
    ("tình hình KT-XH", "tình hình kinh tế, xã hội"),
    ("các tỉnh ĐBSCL", "các tỉnh Đồng bằng sông Cửu Long"),
    ("CV số 25 của BCH Đoàn", "công văn số hai mươi lăm của Ban Chấp hành Đoàn"),
    ("TP Hà Tĩnh và TP. Vinh", "thành phố Hà Tĩnh và thành phố Vinh"),
    ("TX Kỳ Anh", "thị xã Kỳ Anh"),
    ("các TDP và BPMC", "các tổ dân phố và Bộ phận một cửa"),
    ("Ban chỉ đạo TW", "Ban chỉ đạo Trung ương"),
    ("Bộ GD&ĐT", "Bộ Giáo dục và Đào tạo"),
    ("ĐT: liên hệ", "ĐT: liên hệ"),
    ("VSATTP,...):", "vệ sinh an toàn thực phẩm:"),
    ("đạt chuẩn NTM", "đạt chuẩn nông thôn mới"),
]

PUNCTUATION = [
    ("", ""),
    ("   ", ""),
    ("!!!", ""),
    ("...", ""),
    ("- - -", ""),
    (
        "“Bảng hướng dẫn sử dụng dịch vụ công trực tuyến”",
        "Bảng hướng dẫn sử dụng dịch vụ công trực tuyến",
    ),
    ('Mô hình "Tổ dân phố điện tử";', "Mô hình Tổ dân phố điện tử;"),
    ("• Bước 1: đăng nhập", "Bước một: đăng nhập"),
    ("* Đối với xã, thị trấn", "Đối với xã, thị trấn"),
    ("*** Đối với xã, thị trấn**", "Đối với xã, thị trấn"),
    ("# Tiêu đề", "Tiêu đề"),
    ("**ỦY BAN NHÂN DÂN", "ỦY BAN NHÂN DÂN"),
    ("Độc lập - Tự do - Hạnh phúc", "Độc lập, Tự do, Hạnh phúc"),
    ("Văn hóa – Thông tin", "Văn hóa, Thông tin"),
    ("phường/xã", "phường xã"),
    ("Kính thưa   toàn thể   nhân dân !", "Kính thưa toàn thể nhân dân!"),
    ("Xin chào , bà con .", "Xin chào, bà con."),
    ("Hỏi: có khó không ?", "Hỏi: có khó không?"),
    ("Cơ quan (Tổ chức)", "Cơ quan, Tổ chức,"),
    ("Giấy tờ [bản sao]", "Giấy tờ, bản sao,"),
    ("A & B", "A và B"),
    ("Hội nghị #1", "Hội nghị một"),
    ("Kính gửi:   ", "Kính gửi:"),
    ("Máy tínhhoạt động", "Máy tínhhoạt động"),
    ("chú ý!!", "chú ý!"),
    ("xong.;", "xong."),
]

LEAVE_ALONE = [
    ("Kính thưa toàn thể nhân dân {ten_xa}!", "Kính thưa toàn thể nhân dân ten xa!"),
    ("dùng tài khoản định danh điện tử VNeID", "dùng tài khoản định danh điện tử VNeID"),
    ("qua Zalo, Facebook, YouTube", "qua Zalo, Facebook, YouTube"),
    ("bản scan giấy tờ", "bản scan giấy tờ"),
    ("Mạc Thị Huyền", "Mạc Thị Huyền"),
    ("mã OTP gửi về điện thoại", "mã OTP gửi về điện thoại"),
    ("Internet", "Internet"),
    ("Ủy ban nhân dân tỉnh", "Ủy ban nhân dân tỉnh"),
]

CASES = NUMBERS + DATES + TIMES + ORDINALS + RANGES_PER_UNITS + PHONES + ADDRESSES
CASES += DOCUMENTS + ABBREVIATIONS + PUNCTUATION + LEAVE_ALONE


@pytest.mark.parametrize(("written", "spoken"), CASES, ids=[c[0][:40] or "empty" for c in CASES])
def test_spoken_form(written: str, spoken: str) -> None:
    assert normalise_vi(written) == spoken


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 150


COMPACT = [
    ("Thông báo 256/TB-UBND", "Thông báo hai trăm năm mươi sáu tê bê u bê en đê"),
    (
        "Quyết định số 1174/QĐ-UBND",
        "Quyết định số một nghìn một trăm bảy mươi tư quy đê u bê en đê",
    ),
    ("Chỉ thị 05/CT-TTg", "Chỉ thị năm xê tê tê tê giê"),
    (
        "Nghị định 61/2018/NĐ-CP",
        "Nghị định sáu mươi mốt năm hai nghìn không trăm mười tám en đê xê pê",
    ),
]


@pytest.mark.parametrize(("written", "spoken"), COMPACT)
def test_compact_document_numbers(written: str, spoken: str) -> None:
    assert normalise_vi(written, NormaliseOptions(document_numbers="compact")) == spoken


def test_unknown_document_number_style_is_refused() -> None:
    with pytest.raises(ValueError):
        NormaliseOptions(document_numbers="long")


def test_lines_are_kept() -> None:
    text = "Kính thưa bà con!\n\nNgày 15/6/2023\n- UBND xã\r\nHết."
    out = normalise_vi(text)
    assert out.split("\n") == [
        "Kính thưa bà con!",
        "",
        f"Ngày mười lăm tháng sáu năm {Y2023}",
        f"{UBND} xã",
        "Hết.",
    ]


def test_output_is_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Thông báo của Ủy ban nhân dân xã ngày 15/6/2023")
    out = normalise_vi(decomposed)
    assert out == unicodedata.normalize("NFC", out)
    assert out.startswith("Thông báo của Ủy ban nhân dân xã ngày mười lăm")


def test_control_characters_are_removed() -> None:
    assert normalise_vi("bà\x00 con\x07 xã\x1b\u200b nhé\ufeff\tạ") == "bà con xã nhé ạ"


def test_mixed_scripts_do_not_crash() -> None:
    assert normalise_vi("中文 text 😀 ok") == "中文 text ok"
    assert normalise_vi("Привет 5 ✔️ xã") == "Привет năm xã"
    assert normalise_vi("\U000f0001 lạ \U00100002") == "lạ"
    assert normalise_vi("\ud800 lẻ") == "lẻ"


def test_private_use_input_cannot_inject_spoken_text() -> None:
    assert normalise_vi("gọi 113 \U00100000") == "gọi một một ba"


@pytest.mark.parametrize(
    "text",
    [
        "/",
        "()[]{}",
        "@@",
        "%%",
        "----",
        "0",
        "-",
        "1/",
        "/1",
        "h",
        "8h99",
        "25:61",
        "99/99/9999",
        "0.0.0.0",
        "http://",
        "@.vn",
        "a@b",
        "thứ",
        "quý /2023",
        "\n\n",
        "1" * 40,
        "1." * 30,
        "9,",
        ",9",
        "+84",
        "−",
        "°C",
        "m²",
        "TB-UBND",
        "/TB-UBND",
    ],
)
def test_odd_input_never_raises(text: str) -> None:
    out = normalise_vi(text)
    assert isinstance(out, str)
    assert out.count("\n") == text.count("\n")
    assert not any(ch.isdigit() for ch in out)


def test_200_kb_of_announcements_is_normalised() -> None:
    paragraph = (
        "Thực hiện Kế hoạch số 14/KH-UBND ngày 26/01/2022 của UBND phường, từ 7h30 đến "
        "11h00, thứ 2 đến thứ 6, bà con truy cập https://dichvucong.gov.vn hoặc gọi "
        "Hotline: 0239.3855.555; phí 50.000đ/hồ sơ, đạt dưới 40% (3 lần/tuần).\n"
    )
    text = paragraph * (200_000 // len(paragraph.encode()) + 1)
    out = normalise_vi(text)
    assert out.count("\n") == text.count("\n")
    first = out.split("\n")[0]
    assert first == normalise_vi(paragraph.strip())
    assert not any(ch.isdigit() for ch in out)
    assert "/" not in out and "(" not in out


@pytest.mark.parametrize(
    "text", ["9" * 200_000, "1." * 100_000, "a." * 100_000, "1-" * 100_000, "x@" * 100_000]
)
def test_pathological_200_kb_lines_finish(text: str) -> None:
    out = normalise_vi(text)
    assert isinstance(out, str)
    assert "\n" not in out

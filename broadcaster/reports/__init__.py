"""Compliance reports (báo cáo thực hiện phát thanh): periods, counting and exports."""

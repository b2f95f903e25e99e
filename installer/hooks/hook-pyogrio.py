# pyogrio carries its own GDAL and PROJ data beside its package (it sets GDAL_DATA from there).
from PyInstaller.utils.hooks import collect_data_files, collect_submodules

hiddenimports = collect_submodules("pyogrio")
datas = collect_data_files("pyogrio", includes=["gdal_data/**", "proj_data/**"])

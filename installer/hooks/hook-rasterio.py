# rasterio imports some of its modules from compiled code (e.g. rasterio.serde from _base.pyx),
# where PyInstaller cannot see them, and finds GDAL's and PROJ's data beside its package.
from PyInstaller.utils.hooks import collect_data_files, collect_submodules

hiddenimports = collect_submodules("rasterio")
datas = collect_data_files("rasterio", includes=["gdal_data/**", "proj_data/**"])

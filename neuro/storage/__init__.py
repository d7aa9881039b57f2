"""Files: HDF5 formats (:mod:`.hdf5`, :mod:`.h5schema`), integrity (manifest, checksum,
class registry), atomic writes, checkpoint identity and sealing, safe reading of untrusted
files. Nothing is imported here (h5py loads with the module that needs it).
"""

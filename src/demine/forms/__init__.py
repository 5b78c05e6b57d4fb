"""Field forms for ODK Collect / KoBoCollect, and the ingest of their submissions.

Most mine action data is first written in the field, on a phone, in a form. This
package writes those forms as XLSForms whose choice lists come from demine's own
vocabularies (so a submission can only say what the record understands), and turns the
exports of KoBoToolbox or ODK Central back into *draft reports*: a submission never
changes the official record by itself, it waits for an information manager's approval.

- ``xlsform``: a small model of an XLSForm and its writer (openpyxl) and converter
  (pyxform);
- ``choices``: choice lists built from ``demine.domain.vocab``;
- ``definitions``: the four forms (non-technical survey, daily progress, EO finding,
  accident);
- ``build``: write every form as .xlsx and .xml;
- ``validate``: ODK Validate (the jar pyxform ships, run by Java);
- ``exports``: read a KoBo/ODK export (CSV, XLSX with repeat sheets, GeoJSON);
- ``geopoints``: ODK's "lat lon alt acc" geometry strings;
- ``entries``: one submission to the entries of a report;
- ``ingest``: all of it in one transaction, duplicates skipped.
"""

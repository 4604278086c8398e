* Frequencies of the labour-market position by province and sex, year 2025.
* On the development extract this reads sav/table1_next_2025.sav; in the enclave, kluis
* provides the same table under the same name on both phases.
GET FILE='sav/table1_next_2025.sav' /KEEP=province sex sep_code age.
FREQUENCIES /VARIABLES=province sex.
CROSSTABS /TABLES=province BY sex.

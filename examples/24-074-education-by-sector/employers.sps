* The enterprises of 2021 by study group and the average age of their employees.
* On the development extract this reads sav/employer_education_employers_2021.sav.
GET FILE='sav/employer_education_employers_2021.sav' /KEEP=group mean_age.
FREQUENCIES /VARIABLES=group mean_age.
CROSSTABS /TABLES=mean_age BY group.

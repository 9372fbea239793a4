// Fill a form's latitude and longitude from the browser's geolocation when the agent
// allows it; without permission (or without GPS) the fields stay for typing.
(function () {
  "use strict";
  function locate(form) {
    if (!navigator.geolocation) { return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.querySelector(".geo-lat").value = pos.coords.latitude.toFixed(6);
      form.querySelector(".geo-lon").value = pos.coords.longitude.toFixed(6);
    }, function () { /* refused or unavailable: the agent types the position */ },
    { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  }
  document.querySelectorAll("form").forEach(function (form) {
    var button = form.querySelector(".geo-locate");
    if (!button) { return; }
    button.addEventListener("click", function () { locate(form); });
    var lat = form.querySelector(".geo-lat");
    if (lat && !lat.value) { locate(form); }
  });
})();
